import { action } from './main.js';

void action.main();
