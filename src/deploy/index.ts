export { deployModel } from './deploy.ts';
export type { DeployInput, DeployOptions, DeployReport } from './types.ts';
export { chooseModelLsh, ModelHashers } from './lsh-setup.ts';
export type { ModelLsh } from './lsh-setup.ts';
