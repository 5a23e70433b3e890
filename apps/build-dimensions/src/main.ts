import { runModelTask } from '@trips/runtime';

runModelTask('build-dimensions');
