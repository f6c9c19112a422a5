import { BoxesError } from '../system/errors.js';

/** An artifact breaks a security rule: exit 1, naming each file and rule. */
export class AuditFailed extends BoxesError {}
