import { runModelTask } from '@trips/runtime';

runModelTask({ app: 'build-dimensions', description: 'Write the dimension members of the clean trips of --ds to s3://LAKE/model/dim_*/ds=D/ and check their contracts.' });
