import { App } from 'cdktn';
import { PIPELINE } from '@trips/pipeline';
import { environments } from './environments';
import { TripsStack } from './trips-stack';

/**
 * `npx nx run stacks:synth`: the Terraform JSON of every environment, under stacks/cdktf.out
 * (CDKTF_OUTDIR overrides), from the pipeline definition and the table catalog.
 */
const app = new App({ outdir: process.env.CDKTF_OUTDIR ?? `${__dirname}/../cdktf.out` });
for (const env of environments()) new TripsStack(app, `trips-${env.name}`, env, PIPELINE);
app.synth();
