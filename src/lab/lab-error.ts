import { CtError } from '../errors';

/** `covalent-ts lab` could not build its environment or start the server. */
export class LabError extends CtError {
  static readonly kind: string = 'LabError';
}
