// `sockline/iterate`: `for await (const message of linkOrClient)`. Imported for its effect:
// it installs the iterator that every link and client uses, the compact ones of a browser
// bundle included (it does not bring the full client).
import { installIteration } from '../iteration.js';
import { iterate } from '../iterate.js';

installIteration(iterate);
