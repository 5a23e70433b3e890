export { expand, literal, MACROS, NULL_SENTINEL, type Vars, type VarValue } from './macros';
export { modelTables, renderModel, sqlPath, SQL_DIR, type ModelTable } from './models';
export { checkContract, contractOf, normaliseType, type ModelContract, type ContractOptions, type ContractQueryEngine, type ContractResult } from './contract';
export { gridSettings, gridVars, type GridSettings } from './settings';
