// Generated files (benchmark figures and page, mutation scores) are written formatted as the rest
// of the tree is, so `prettier --check .` stays green after a run. prettier is imported here, when a
// file is written, not at module load: a bench's measured child process imports the figures writer,
// and prettier would add its ~100 MB to the peak RSS that child reports.
export async function formatLikeTree(file: string, text: string): Promise<string> {
  const prettier = await import('prettier');
  return prettier.format(text, { ...((await prettier.resolveConfig(file)) ?? {}), filepath: file });
}
