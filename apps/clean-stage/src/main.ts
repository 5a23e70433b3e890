import { runModelTask } from '@trips/runtime';

runModelTask({ app: 'clean-stage', description: 'Type, normalise and deduplicate the validated rows of --ds into clean Parquet (s3://LAKE/clean/trips/ds=D/).' });
