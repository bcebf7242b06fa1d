// `sockline/handle`: `client.handle(method, handler)`, answering the server's requests.
// Imported for its effect: it installs the code that runs the handlers, which the full client
// and the compact one of a browser bundle both use (it does not bring the full client).
import { installAnswers } from '../protocol/answering.js';
import { answersWith } from '../protocol/endpoint/answers.js';
import { sideAnswers } from './side-answers.js';

installAnswers(answersWith, sideAnswers);
