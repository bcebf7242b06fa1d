// `sockline/handle`: `client.handle(method, handler)`, answering the server's requests.
// Imported for its effect: it installs the code that runs the handlers.
import { installAnswers } from '../protocol/answering.js';
import { createAnswers } from '../protocol/endpoint/answers.js';

installAnswers(createAnswers);
