"""Times implicit's CPU ALS on a CSR matrix written by bench/train/run.ts.

Input files (little-endian): <data>/train.bin = int32 magic 0x43535231, nRows, nCols, nnz,
then indptr int32[nRows+1], indices int32[nnz], data float32[nnz].
The confidence used by implicit is the matrix data itself (implicit >= 0.5 multiplies by alpha
only); to optimise the same objective as ours (c = 1 + alpha * r) we pass data = 1 + alpha * r
with alpha = 1.

Prints one JSON line: seconds per iteration, peak RSS, loss, BLAS info; writes the factors as
raw float32 row-major to <out>/implicit-<solver>-{user,item}.f32.
"""

import argparse
import json
import os
import resource
import sys
import time

import numpy as np
import scipy.sparse as sp


def read_csr(path):
    with open(path, "rb") as f:
        header = np.frombuffer(f.read(16), dtype="<i4")
        if header[0] != 0x43535231:
            raise SystemExit(f"{path}: bad magic")
        n_rows, n_cols, nnz = (int(v) for v in header[1:])
        indptr = np.frombuffer(f.read(4 * (n_rows + 1)), dtype="<i4")
        indices = np.frombuffer(f.read(4 * nnz), dtype="<i4")
        data = np.frombuffer(f.read(4 * nnz), dtype="<f4")
    return sp.csr_matrix((data, indices, indptr), shape=(n_rows, n_cols))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--solver", choices=["cg", "cholesky"], required=True)
    ap.add_argument("--factors", type=int, required=True)
    ap.add_argument("--regularization", type=float, required=True)
    ap.add_argument("--alpha", type=float, required=True)
    ap.add_argument("--iterations", type=int, required=True)
    ap.add_argument("--threads", type=int, required=True)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()

    import implicit
    from implicit.cpu.als import AlternatingLeastSquares
    from threadpoolctl import threadpool_info

    user_items = read_csr(os.path.join(args.data, "train.bin"))
    conf = user_items.copy()
    conf.data = (1.0 + args.alpha * conf.data).astype(np.float32)

    model = AlternatingLeastSquares(
        factors=args.factors,
        regularization=args.regularization,
        alpha=1.0,
        iterations=args.iterations,
        use_cg=args.solver == "cg",
        num_threads=args.threads,
        random_state=args.seed,
        calculate_training_loss=False,
    )
    per_iter = []
    t0 = time.perf_counter()
    model.fit(conf, show_progress=False, callback=lambda it, elapsed, loss: per_iter.append(elapsed))
    total = time.perf_counter() - t0

    # training loss with the final factors (implicit normalises by the number of cells + extra confidence)
    from implicit.cpu import _als

    loss = float(_als.calculate_loss(conf, model.user_factors, model.item_factors, args.regularization, num_threads=args.threads))

    os.makedirs(args.out, exist_ok=True)
    np.ascontiguousarray(model.user_factors, dtype="<f4").tofile(os.path.join(args.out, f"implicit-{args.solver}-user.f32"))
    np.ascontiguousarray(model.item_factors, dtype="<f4").tofile(os.path.join(args.out, f"implicit-{args.solver}-item.f32"))

    blas = [
        {k: v for k, v in info.items() if k in ("internal_api", "version", "architecture", "num_threads", "threading_layer")}
        for info in threadpool_info()
    ]
    print(
        json.dumps(
            {
                "implicit": implicit.__version__,
                "numpy": np.__version__,
                "secondsPerIteration": per_iter,
                "totalSeconds": total,
                "maxRssKb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                "normalisedLoss": loss,
                "blas": blas,
            }
        )
    )
    sys.stdout.flush()


if __name__ == "__main__":
    main()
