// `sockline/iterate`: `for await (const message of linkOrClient)`. Imported for its effect:
// it installs the iterator that the link and the client use.
import { installIteration } from '../iteration.js';
import { iterate } from '../iterate.js';

installIteration(iterate);
