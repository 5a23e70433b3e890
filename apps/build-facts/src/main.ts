import { runModelTask } from '@trips/runtime';

runModelTask({ app: 'build-facts', description: 'Write fact_trips for the clean trips of --ds to s3://LAKE/model/fact_trips/ds=D/ and check it joins the dimensions of that ds.' });
