// The LSH tables a deployed model carries, and hashing with them. Deploy hashes items with this
// class and the query layer hashes queries with it, so both sides always agree on the space.
import { LshHasher, type SerializedLsh } from './hasher.ts';
import { augmentItemForMips, augmentQueryForMips, normalizeVector } from './mips.ts';

/** What a model stores so queries hash exactly as its items were hashed. */
export interface ModelLsh {
  mips: SerializedLsh & { augmented: boolean; maxNorm: number };
  cosine: SerializedLsh;
  tuning?: {
    mips: { recall: number; candidateFraction: number };
    cosine: { recall: number; candidateFraction: number };
  };
}

/** Hashers ready to use, and the vector each side of a query must be hashed as. */
export class ModelHashers {
  private readonly mips: LshHasher;
  private readonly cosine: LshHasher;
  private readonly augmented: boolean;
  private readonly M: number;

  /** From a model's stored tables; throws if they cannot be deserialised. */
  constructor(lsh: ModelLsh) {
    this.mips = LshHasher.deserialize(lsh.mips);
    this.cosine = LshHasher.deserialize(lsh.cosine);
    this.augmented = lsh.mips.augmented;
    this.M = lsh.mips.maxNorm;
  }

  itemMipsTerms(factor: Float32Array): string[] {
    return this.mips.bucketTerms(this.augmented ? augmentItemForMips(factor, this.M) : factor);
  }

  queryMipsTerms(userFactor: ArrayLike<number>): string[] {
    return this.mips.bucketTerms(
      this.augmented ? augmentQueryForMips(userFactor) : Float32Array.from(userFactor),
    );
  }

  cosineTerms(factor: ArrayLike<number>): string[] {
    return this.cosine.bucketTerms(normalizeVector(factor));
  }
}
