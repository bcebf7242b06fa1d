// `sockline/iterate`: `for await (const message of linkOrClient)`. Imported for its effect:
// it installs the iterator that the link and the client use, and in a browser bundle the
// full client and link that take it.
import './full-client.js';
import { installIteration } from '../iteration.js';
import { iterate } from '../iterate.js';

installIteration(iterate);
