// `sockline/handle`: `client.handle(method, handler)`, answering the server's requests.
// Imported for its effect: it installs the code that runs the handlers, and in a browser
// bundle the full client that has `handle()`.
import './full-client.js';
import { installAnswers } from '../protocol/answering.js';
import { createAnswers } from '../protocol/endpoint/answers.js';

installAnswers(createAnswers);
