// `sockline/verbose`: option errors that say what was expected and suggest the name meant
// ("Unknown option reconect (did you mean reconnect?)"). Imported for its effect; in a
// browser bundle it brings the full client, whose option checks give those texts.
import './full-client.js';
import { useOptionTexts } from '../options/messages.js';
import { verboseTexts } from '../options/verbose-texts.js';

useOptionTexts(verboseTexts);
