// `sockline/verbose`: option errors that say what was expected and suggest the name meant
// ("Unknown option reconect (did you mean reconnect?)"). Imported for its effect: it installs
// the texts that every option check reads, the compact client's and link's included (it does
// not bring the full client).
import { useOptionTexts } from '../options/messages.js';
import { verboseTexts } from '../options/verbose-texts.js';

useOptionTexts(verboseTexts);
