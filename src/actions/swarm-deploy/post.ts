import { runPost } from './post-main.js';

void runPost();
