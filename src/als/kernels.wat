;; WebAssembly SIMD (128-bit) kernels for the ALS inner loops (engine.ts) and for one query against
;; many rows (row-scorer.ts: the norm probe's scan, the deploy's exact top k). Assembled at load
;; time by wasm.ts with wabt; this text is the source of truth. The plain-JS float64 kernels in
;; kernels.ts are their reference in the tests.
;;
;; Memory: `env.mem` is imported so that one shared memory holds all training state and every
;; worker thread instantiates these kernels on it without copies (hence `shared`, which needs a
;; maximum; 65536 pages = 4 GiB, the whole 32-bit space). All pointers are byte offsets into it.
;;
;; Layout: a factor row has rowBytes = 4·kp bytes with kp a multiple of 8, so every row is a whole
;; number of pairs of 16-byte f32x4 vectors. The row loops therefore step 32 bytes and carry two
;; independent accumulators (acc over bytes [e, e+16), acc2 over [e+16, e+32)): the two
;; add chains overlap in the pipeline instead of each multiply-add waiting for the previous one.
;; The padding columns are zero and add nothing to a dot product.
;;
;; Loops are written as
;;   (local.set $i from)
;;   (block $done (loop $next (br_if $done (i32.ge_s i limit)) body (i += step) (br $next)))
;; i.e. the test is at the top, so an empty range runs nothing.
;;
;; The order of the floating-point operations is part of each kernel's result (a different order
;; rounds differently): change it only on purpose.

(module
  (import "env" "mem" (memory 1 65536 shared))

  ;; wsum(n, rowBytes, Y, idx, w, v, out, a0, b0, g0):
  ;;   for j < n: y = Y + idx[j]·rowBytes; c = a0 + b0·w[j] + (g0 ≠ 0 ? g0·w[j]·(y·v) : 0);
  ;;              out += c·y
  ;; The conjugate-gradient residual (a0 = b0 = 1, g0 = −1), Yᵀ(C − I)Y·p (a0 = b0 = 0, g0 = 1)
  ;; and Cholesky's right-hand side YᵀC·1 (a0 = b0 = 1, g0 = 0: y·v is skipped) in one loop.
  (func $wsum (export "wsum")
    (param $n i32) (param $rowBytes i32) (param $Y i32) (param $idx i32) (param $w i32)
    (param $v i32) (param $out i32) (param $a0 f32) (param $b0 f32) (param $g0 f32)
    (local $j i32) (local $e i32) (local $row i32) (local $acc v128) (local $c f32) (local $wj f32)
    (local $acc2 v128)
    (local.set $j (i32.const 0))
    (block $done
      (loop $next
        (br_if $done (i32.ge_s (local.get $j) (local.get $n)))
        (local.set $row
          (i32.add (local.get $Y)
            (i32.mul
              (i32.load (i32.add (local.get $idx) (i32.shl (local.get $j) (i32.const 2))))
              (local.get $rowBytes))))
        (local.set $wj (f32.load (i32.add (local.get $w) (i32.shl (local.get $j) (i32.const 2)))))
        (local.set $c (f32.add (local.get $a0) (f32.mul (local.get $b0) (local.get $wj))))
        (if (f32.ne (local.get $g0) (f32.const 0))
          (then
            ;; c + (g0·w[j])·(y·v): both factors stay on the stack while y·v is computed
            (local.get $c)
            (f32.mul (local.get $g0) (local.get $wj))
            (local.set $acc (v128.const i32x4 0 0 0 0))
            (local.set $acc2 (v128.const i32x4 0 0 0 0))
            (local.set $e (i32.const 0))
            (block $dotted
              (loop $dot
                (br_if $dotted (i32.ge_s (local.get $e) (local.get $rowBytes)))
                (local.set $acc
                  (f32x4.add (local.get $acc)
                    (f32x4.mul
                      (v128.load (i32.add (local.get $row) (local.get $e)))
                      (v128.load (i32.add (local.get $v) (local.get $e))))))
                (local.set $acc2
                  (f32x4.add (local.get $acc2)
                    (f32x4.mul
                      (v128.load offset=16 (i32.add (local.get $row) (local.get $e)))
                      (v128.load offset=16 (i32.add (local.get $v) (local.get $e))))))
                (local.set $e (i32.add (local.get $e) (i32.const 32)))
                (br $dot)))
            ;; the two accumulators, then the four lanes in order
            (local.set $acc (f32x4.add (local.get $acc) (local.get $acc2)))
            (f32.add
              (f32.add
                (f32.add
                  (f32x4.extract_lane 0 (local.get $acc))
                  (f32x4.extract_lane 1 (local.get $acc)))
                (f32x4.extract_lane 2 (local.get $acc)))
              (f32x4.extract_lane 3 (local.get $acc)))
            f32.mul
            f32.add
            local.set $c))
        ;; out += c·y, 32 bytes per step (acc now holds c in every lane)
        (local.set $acc (f32x4.splat (local.get $c)))
        (local.set $e (i32.const 0))
        (block $added
          (loop $add
            (br_if $added (i32.ge_s (local.get $e) (local.get $rowBytes)))
            (v128.store (i32.add (local.get $out) (local.get $e))
              (f32x4.add
                (v128.load (i32.add (local.get $out) (local.get $e)))
                (f32x4.mul (local.get $acc) (v128.load (i32.add (local.get $row) (local.get $e))))))
            (v128.store offset=16 (i32.add (local.get $out) (local.get $e))
              (f32x4.add
                (v128.load offset=16 (i32.add (local.get $out) (local.get $e)))
                (f32x4.mul (local.get $acc) (v128.load offset=16 (i32.add (local.get $row) (local.get $e))))))
            (local.set $e (i32.add (local.get $e) (i32.const 32)))
            (br $add)))
        (local.set $j (i32.add (local.get $j) (i32.const 1)))
        (br $next))))

  ;; symv(n, rowBytes, M, v, out): out = Σ_{a<n} v[a]·M_a, the rows of M scaled and summed
  ;; (= M·v for the symmetric M = YᵀY + λI, so whole contiguous rows are read, never columns).
  (func $symv (export "symv")
    (param $n i32) (param $rowBytes i32) (param $M i32) (param $v i32) (param $out i32)
    (local $a i32) (local $e i32) (local $s v128) (local $rowp i32)
    ;; out = 0
    (local.set $e (i32.const 0))
    (block $cleared
      (loop $clear
        (br_if $cleared (i32.ge_s (local.get $e) (local.get $rowBytes)))
        (v128.store (i32.add (local.get $out) (local.get $e)) (v128.const i32x4 0 0 0 0))
        (local.set $e (i32.add (local.get $e) (i32.const 16)))
        (br $clear)))
    (local.set $a (i32.const 0))
    (block $done
      (loop $next
        (br_if $done (i32.ge_s (local.get $a) (local.get $n)))
        (local.set $s
          (f32x4.splat (f32.load (i32.add (local.get $v) (i32.shl (local.get $a) (i32.const 2))))))
        (local.set $rowp (i32.add (local.get $M) (i32.mul (local.get $a) (local.get $rowBytes))))
        ;; out += v[a]·M_a, 32 bytes per step
        (local.set $e (i32.const 0))
        (block $added
          (loop $add
            (br_if $added (i32.ge_s (local.get $e) (local.get $rowBytes)))
            (v128.store (i32.add (local.get $out) (local.get $e))
              (f32x4.add
                (v128.load (i32.add (local.get $out) (local.get $e)))
                (f32x4.mul (local.get $s) (v128.load (i32.add (local.get $rowp) (local.get $e))))))
            (v128.store offset=16 (i32.add (local.get $out) (local.get $e))
              (f32x4.add
                (v128.load offset=16 (i32.add (local.get $out) (local.get $e)))
                (f32x4.mul (local.get $s) (v128.load offset=16 (i32.add (local.get $rowp) (local.get $e))))))
            (local.set $e (i32.add (local.get $e) (i32.const 32)))
            (br $add)))
        (local.set $a (i32.add (local.get $a) (i32.const 1)))
        (br $next))))

  ;; syrk(n, kp, rowBytes, Y, idx, w, A): A += Σ_{j<n} w[j]·y_j y_jᵀ, y_j = Y + idx[j]·rowBytes.
  ;; Only the lower triangle is needed, rounded up to whole vectors: row a gets the columns
  ;; [0, (a & ~3) + 4). The caller mirrors it. Four non-zeros share each pass over A (one load and
  ;; one store of A per 16 multiply-adds; the sweep is bound by A's traffic otherwise), then the
  ;; n mod 4 remaining ones singly. With idx = 0, 1, 2, … and w = 1, 1, … this is the Gram matrix.
  (func $syrk (export "syrk")
    (param $n i32) (param $kp i32) (param $rowBytes i32) (param $Y i32) (param $idx i32)
    (param $w i32) (param $A i32)
    (local $j i32) (local $a i32) (local $e i32) (local $arow i32) (local $lim i32) (local $n4 i32)
    ;; the rows y_{j+q} of the current group of four, their weights, and splat(w_q·y_q[a])
    (local $row0 i32) (local $row1 i32) (local $row2 i32) (local $row3 i32)
    (local $w0 f32) (local $w1 f32) (local $w2 f32) (local $w3 f32)
    (local $s0 v128) (local $s1 v128) (local $s2 v128) (local $s3 v128)
    (local.set $n4 (i32.and (local.get $n) (i32.const -4)))
    ;; groups of four non-zeros
    (local.set $j (i32.const 0))
    (block $done
      (loop $next
        (br_if $done (i32.ge_s (local.get $j) (local.get $n4)))
        (local.set $row0
          (i32.add (local.get $Y)
            (i32.mul
              (i32.load (i32.add (local.get $idx) (i32.shl (local.get $j) (i32.const 2))))
              (local.get $rowBytes))))
        (local.set $w0 (f32.load (i32.add (local.get $w) (i32.shl (local.get $j) (i32.const 2)))))
        (local.set $row1
          (i32.add (local.get $Y)
            (i32.mul
              (i32.load offset=4 (i32.add (local.get $idx) (i32.shl (local.get $j) (i32.const 2))))
              (local.get $rowBytes))))
        (local.set $w1 (f32.load offset=4 (i32.add (local.get $w) (i32.shl (local.get $j) (i32.const 2)))))
        (local.set $row2
          (i32.add (local.get $Y)
            (i32.mul
              (i32.load offset=8 (i32.add (local.get $idx) (i32.shl (local.get $j) (i32.const 2))))
              (local.get $rowBytes))))
        (local.set $w2 (f32.load offset=8 (i32.add (local.get $w) (i32.shl (local.get $j) (i32.const 2)))))
        (local.set $row3
          (i32.add (local.get $Y)
            (i32.mul
              (i32.load offset=12 (i32.add (local.get $idx) (i32.shl (local.get $j) (i32.const 2))))
              (local.get $rowBytes))))
        (local.set $w3 (f32.load offset=12 (i32.add (local.get $w) (i32.shl (local.get $j) (i32.const 2)))))
        (local.set $a (i32.const 0))
        (block $rows
          (loop $row
            (br_if $rows (i32.ge_s (local.get $a) (local.get $kp)))
            (local.set $s0
              (f32x4.splat
                (f32.mul (local.get $w0)
                  (f32.load (i32.add (local.get $row0) (i32.shl (local.get $a) (i32.const 2)))))))
            (local.set $s1
              (f32x4.splat
                (f32.mul (local.get $w1)
                  (f32.load (i32.add (local.get $row1) (i32.shl (local.get $a) (i32.const 2)))))))
            (local.set $s2
              (f32x4.splat
                (f32.mul (local.get $w2)
                  (f32.load (i32.add (local.get $row2) (i32.shl (local.get $a) (i32.const 2)))))))
            (local.set $s3
              (f32x4.splat
                (f32.mul (local.get $w3)
                  (f32.load (i32.add (local.get $row3) (i32.shl (local.get $a) (i32.const 2)))))))
            (local.set $arow (i32.add (local.get $A) (i32.mul (local.get $a) (local.get $rowBytes))))
            (local.set $lim
              (i32.shl (i32.add (i32.and (local.get $a) (i32.const -4)) (i32.const 4)) (i32.const 2)))
            ;; A_a[e..e+16) += s0·y0 + s1·y1 + s2·y2 + s3·y3, added in that order
            (local.set $e (i32.const 0))
            (block $cols
              (loop $col
                (br_if $cols (i32.ge_s (local.get $e) (local.get $lim)))
                (v128.store (i32.add (local.get $arow) (local.get $e))
                  (f32x4.add
                    (f32x4.add
                      (f32x4.add
                        (f32x4.add
                          (v128.load (i32.add (local.get $arow) (local.get $e)))
                          (f32x4.mul (local.get $s0) (v128.load (i32.add (local.get $row0) (local.get $e)))))
                        (f32x4.mul (local.get $s1) (v128.load (i32.add (local.get $row1) (local.get $e)))))
                      (f32x4.mul (local.get $s2) (v128.load (i32.add (local.get $row2) (local.get $e)))))
                    (f32x4.mul (local.get $s3) (v128.load (i32.add (local.get $row3) (local.get $e))))))
                (local.set $e (i32.add (local.get $e) (i32.const 16)))
                (br $col)))
            (local.set $a (i32.add (local.get $a) (i32.const 1)))
            (br $row)))
        (local.set $j (i32.add (local.get $j) (i32.const 4)))
        (br $next)))
    ;; the remaining n mod 4 non-zeros, one at a time
    (local.set $j (local.get $n4))
    (block $done
      (loop $next
        (br_if $done (i32.ge_s (local.get $j) (local.get $n)))
        (local.set $row0
          (i32.add (local.get $Y)
            (i32.mul
              (i32.load (i32.add (local.get $idx) (i32.shl (local.get $j) (i32.const 2))))
              (local.get $rowBytes))))
        (local.set $w0 (f32.load (i32.add (local.get $w) (i32.shl (local.get $j) (i32.const 2)))))
        (local.set $a (i32.const 0))
        (block $rows
          (loop $row
            (br_if $rows (i32.ge_s (local.get $a) (local.get $kp)))
            (local.set $s0
              (f32x4.splat
                (f32.mul (local.get $w0)
                  (f32.load (i32.add (local.get $row0) (i32.shl (local.get $a) (i32.const 2)))))))
            (local.set $arow (i32.add (local.get $A) (i32.mul (local.get $a) (local.get $rowBytes))))
            (local.set $lim
              (i32.shl (i32.add (i32.and (local.get $a) (i32.const -4)) (i32.const 4)) (i32.const 2)))
            (local.set $e (i32.const 0))
            (block $cols
              (loop $col
                (br_if $cols (i32.ge_s (local.get $e) (local.get $lim)))
                (v128.store (i32.add (local.get $arow) (local.get $e))
                  (f32x4.add
                    (v128.load (i32.add (local.get $arow) (local.get $e)))
                    (f32x4.mul (local.get $s0) (v128.load (i32.add (local.get $row0) (local.get $e))))))
                (local.set $e (i32.add (local.get $e) (i32.const 16)))
                (br $col)))
            (local.set $a (i32.add (local.get $a) (i32.const 1)))
            (br $row)))
        (local.set $j (i32.add (local.get $j) (i32.const 1)))
        (br $next))))

  ;; loss(n, rowBytes, Y, idx, w, x) → Σ_{j<n} [w_j s² − 2(1 + w_j)s + 1 + w_j], s = y_j·x,
  ;; y_j = Y + idx[j]·rowBytes: one row's data term of the weighted objective, without xᵀYᵀYx.
  ;; The dot products are f32 like training's; the sum is f64 because it runs over every non-zero.
  (func $loss (export "loss")
    (param $n i32) (param $rowBytes i32) (param $Y i32) (param $idx i32) (param $w i32) (param $x i32)
    (result f64)
    (local $j i32) (local $e i32) (local $row i32) (local $acc v128) (local $sum f64) (local $s f64)
    (local $c f64) (local $acc2 v128)
    (local.set $j (i32.const 0))
    (block $done
      (loop $next
        (br_if $done (i32.ge_s (local.get $j) (local.get $n)))
        (local.set $row
          (i32.add (local.get $Y)
            (i32.mul
              (i32.load (i32.add (local.get $idx) (i32.shl (local.get $j) (i32.const 2))))
              (local.get $rowBytes))))
        ;; s = y·x with two accumulators, as in wsum
        (local.set $acc (v128.const i32x4 0 0 0 0))
        (local.set $acc2 (v128.const i32x4 0 0 0 0))
        (local.set $e (i32.const 0))
        (block $dotted
          (loop $dot
            (br_if $dotted (i32.ge_s (local.get $e) (local.get $rowBytes)))
            (local.set $acc
              (f32x4.add (local.get $acc)
                (f32x4.mul
                  (v128.load (i32.add (local.get $row) (local.get $e)))
                  (v128.load (i32.add (local.get $x) (local.get $e))))))
            (local.set $acc2
              (f32x4.add (local.get $acc2)
                (f32x4.mul
                  (v128.load offset=16 (i32.add (local.get $row) (local.get $e)))
                  (v128.load offset=16 (i32.add (local.get $x) (local.get $e))))))
            (local.set $e (i32.add (local.get $e) (i32.const 32)))
            (br $dot)))
        (local.set $acc (f32x4.add (local.get $acc) (local.get $acc2)))
        (local.set $s
          (f64.promote_f32
            (f32.add
              (f32.add
                (f32.add
                  (f32x4.extract_lane 0 (local.get $acc))
                  (f32x4.extract_lane 1 (local.get $acc)))
                (f32x4.extract_lane 2 (local.get $acc)))
              (f32x4.extract_lane 3 (local.get $acc)))))
        ;; c = 1 + w_j
        (local.set $c
          (f64.add
            (f64.promote_f32 (f32.load (i32.add (local.get $w) (i32.shl (local.get $j) (i32.const 2)))))
            (f64.const 1)))
        ;; sum += (c − 1)·s·s − 2·c·s + c
        (local.set $sum
          (f64.add
            (f64.sub
              (f64.add (local.get $sum)
                (f64.mul (f64.mul (f64.sub (local.get $c) (f64.const 1)) (local.get $s)) (local.get $s)))
              (f64.mul (f64.mul (local.get $c) (local.get $s)) (f64.const 2)))
            (local.get $c)))
        (local.set $j (i32.add (local.get $j) (i32.const 1)))
        (br $next)))
    (local.get $sum))

  ;; dot64(pa, pb, n) → Σ_{p<n} a[p]·b[p] over float64 arrays: f64x2 with two accumulators over
  ;; 32-byte steps for the first n & ~3 elements, then the rest one at a time.
  (func $dot64 (export "dot64")
    (param $pa i32) (param $pb i32) (param $n i32) (result f64)
    (local $e i32) (local $lim i32) (local $acc0 v128) (local $acc1 v128) (local $s f64)
    (local $end i32)
    (local.set $acc0 (v128.const i32x4 0 0 0 0))
    (local.set $acc1 (v128.const i32x4 0 0 0 0))
    (local.set $lim (i32.shl (i32.and (local.get $n) (i32.const -4)) (i32.const 3)))
    (local.set $e (i32.const 0))
    (block $done
      (loop $next
        (br_if $done (i32.ge_s (local.get $e) (local.get $lim)))
        (local.set $acc0
          (f64x2.add (local.get $acc0)
            (f64x2.mul
              (v128.load (i32.add (local.get $pa) (local.get $e)))
              (v128.load (i32.add (local.get $pb) (local.get $e))))))
        (local.set $acc1
          (f64x2.add (local.get $acc1)
            (f64x2.mul
              (v128.load offset=16 (i32.add (local.get $pa) (local.get $e)))
              (v128.load offset=16 (i32.add (local.get $pb) (local.get $e))))))
        (local.set $e (i32.add (local.get $e) (i32.const 32)))
        (br $next)))
    (local.set $acc0 (f64x2.add (local.get $acc0) (local.get $acc1)))
    (local.set $s
      (f64.add (f64x2.extract_lane 0 (local.get $acc0)) (f64x2.extract_lane 1 (local.get $acc0))))
    (local.set $end (i32.shl (local.get $n) (i32.const 3)))
    (local.set $e (local.get $lim))
    (block $done
      (loop $next
        (br_if $done (i32.ge_s (local.get $e) (local.get $end)))
        (local.set $s
          (f64.add (local.get $s)
            (f64.mul
              (f64.load (i32.add (local.get $pa) (local.get $e)))
              (f64.load (i32.add (local.get $pb) (local.get $e))))))
        (local.set $e (i32.add (local.get $e) (i32.const 8)))
        (br $next)))
    (local.get $s))

  ;; cholesky(A, n) → 1, or 0 if not positive definite: in place A = L Lᵀ on a row-major float64
  ;; n × n matrix (the lower triangle is read and overwritten). Column by column, each entry from the
  ;; inner product of two contiguous row prefixes, which dot64 vectorises.
  (func $cholesky (export "cholesky")
    (param $A i32) (param $n i32) (result i32)
    (local $j i32) (local $i i32) (local $rj i32) (local $ri i32) (local $s f64) (local $inv f64)
    (local $rowBytes i32)
    (local.set $rowBytes (i32.shl (local.get $n) (i32.const 3)))
    (local.set $j (i32.const 0))
    (block $done
      (loop $next
        (br_if $done (i32.ge_s (local.get $j) (local.get $n)))
        (local.set $rj (i32.add (local.get $A) (i32.mul (local.get $j) (local.get $rowBytes))))
        ;; s = A[j][j] − Σ_{p<j} A[j][p]²
        (local.set $s
          (f64.sub
            (f64.load (i32.add (local.get $rj) (i32.shl (local.get $j) (i32.const 3))))
            (call $dot64 (local.get $rj) (local.get $rj) (local.get $j))))
        ;; `not (s > 0)` so that a NaN also reports failure
        (if (i32.eqz (f64.gt (local.get $s) (f64.const 0)))
          (then (return (i32.const 0))))
        (local.set $s (f64.sqrt (local.get $s)))
        (f64.store (i32.add (local.get $rj) (i32.shl (local.get $j) (i32.const 3))) (local.get $s))
        (local.set $inv (f64.div (f64.const 1) (local.get $s)))
        ;; A[i][j] = (A[i][j] − Σ_{p<j} A[i][p]·A[j][p]) / L[j][j] for i > j
        (local.set $i (i32.add (local.get $j) (i32.const 1)))
        (block $below
          (loop $under
            (br_if $below (i32.ge_s (local.get $i) (local.get $n)))
            (local.set $ri (i32.add (local.get $A) (i32.mul (local.get $i) (local.get $rowBytes))))
            (f64.store (i32.add (local.get $ri) (i32.shl (local.get $j) (i32.const 3)))
              (f64.mul
                (f64.sub
                  (f64.load (i32.add (local.get $ri) (i32.shl (local.get $j) (i32.const 3))))
                  (call $dot64 (local.get $ri) (local.get $rj) (local.get $j)))
                (local.get $inv)))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br $under)))
        (local.set $j (i32.add (local.get $j) (i32.const 1)))
        (br $next)))
    (i32.const 1))

  ;; rowdots(n, rowBytes, X, q, out): out[r] = X_r · q for r < n, in f32 with the same two
  ;; accumulators and lane order as wsum's y·v.
  (func $rowdots (export "rowdots")
    (param $n i32) (param $rowBytes i32) (param $X i32) (param $q i32) (param $out i32)
    (local $r i32) (local $e i32) (local $row i32) (local $acc v128) (local $acc2 v128)
    (local.set $r (i32.const 0))
    (block $done
      (loop $next
        (br_if $done (i32.ge_s (local.get $r) (local.get $n)))
        (local.set $row (i32.add (local.get $X) (i32.mul (local.get $r) (local.get $rowBytes))))
        ;; the store's address first, then the dot product as its value
        (i32.add (local.get $out) (i32.shl (local.get $r) (i32.const 2)))
        (local.set $acc (v128.const i32x4 0 0 0 0))
        (local.set $acc2 (v128.const i32x4 0 0 0 0))
        (local.set $e (i32.const 0))
        (block $dotted
          (loop $dot
            (br_if $dotted (i32.ge_s (local.get $e) (local.get $rowBytes)))
            (local.set $acc
              (f32x4.add (local.get $acc)
                (f32x4.mul
                  (v128.load (i32.add (local.get $row) (local.get $e)))
                  (v128.load (i32.add (local.get $q) (local.get $e))))))
            (local.set $acc2
              (f32x4.add (local.get $acc2)
                (f32x4.mul
                  (v128.load offset=16 (i32.add (local.get $row) (local.get $e)))
                  (v128.load offset=16 (i32.add (local.get $q) (local.get $e))))))
            (local.set $e (i32.add (local.get $e) (i32.const 32)))
            (br $dot)))
        (local.set $acc (f32x4.add (local.get $acc) (local.get $acc2)))
        (f32.add
          (f32.add
            (f32.add
              (f32x4.extract_lane 0 (local.get $acc))
              (f32x4.extract_lane 1 (local.get $acc)))
            (f32x4.extract_lane 2 (local.get $acc)))
          (f32x4.extract_lane 3 (local.get $acc)))
        f32.store
        (local.set $r (i32.add (local.get $r) (i32.const 1)))
        (br $next))))
)
