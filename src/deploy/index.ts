export { deployModel, removeOldVersions } from './deploy.ts';
export type { DeployInput, DeployOptions, DeployReport } from './deploy.ts';
export { activateModel, rollback } from './activate.ts';
export { swapAliases, aliasedIndices, deployedVersions } from './aliases.ts';
export { chooseModelLsh, ModelHashers } from './lsh-setup.ts';
export type { ModelLsh } from './lsh-setup.ts';
