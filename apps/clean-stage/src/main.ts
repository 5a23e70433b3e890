import { runModelTask } from '@trips/runtime';

runModelTask('clean-stage');
