// Which arm of an experiment a user is in: a pure function of (salt, user id, share), so every API
// instance and every request agrees without storing an assignment, and a new experiment (new salt)
// reshuffles users instead of reusing the last experiment's treatment group.

import { createHash } from 'node:crypto';

export type Arm = 'treatment' | 'control';

/** 48 bits of SHA-256(salt ":" user) as a number in [0, 1): uniform, and exact in a double. */
export function unitHash(salt: string, userId: string): number {
  return createHash('sha256').update(salt).update(':').update(userId).digest().readUIntBE(0, 6) / 2 ** 48;
}

/** The user's arm: treatment when the hash falls below the treatment share. */
export function assignArm(salt: string, userId: string, treatmentShare: number): Arm {
  return unitHash(salt, userId) < treatmentShare ? 'treatment' : 'control';
}
