export { generatedFiles } from './generate';
export { MWAA_CONFIG_KEYS, renderMwaaDag } from './mwaa';
export { renderLocalDag } from './local';
