// The CycleDiffusion family's entry points for the model registry and eval (the family lives in cycleDiffusion/).

export { loadEvalConverter, loadMelConverter, shippedCycleDiffusionPath } from './cycleDiffusion/convert.js';
