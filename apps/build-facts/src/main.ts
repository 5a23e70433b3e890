import { runModelTask } from '@trips/runtime';

runModelTask('build-facts');
