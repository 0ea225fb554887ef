import type { estypes } from '@elastic/elasticsearch';

/**
 * The KQL subset the saved objects use, translated to an Elasticsearch query:
 *
 *   field:value | field:"quoted value"   → term (Kibana emits match/match_phrase; on keyword fields that is the same)
 *   field:*                              → exists
 *   not X, X and Y, X or Y, ( … )        → bool must_not / filter / should (minimum_should_match 1)
 *
 * Anything else (free text without a field, wildcards inside values, ranges, nested field:(a or b))
 * throws, so a saved object using a form this translator does not know cannot pass silently.
 */
export function kqlToQuery(kql: string): estypes.QueryDslQueryContainer {
  const tokens = tokenize(kql);
  if (tokens.length === 0) return { match_all: {} };
  const parser = new Parser(tokens, kql);
  const q = parser.parseOr();
  if (!parser.done()) throw new KqlError(kql, `unexpected "${parser.peek()?.text}"`);
  return q;
}

export class KqlError extends Error {
  constructor(kql: string, why: string) {
    super(`unsupported KQL "${kql}": ${why}`);
    this.name = 'KqlError';
  }
}

type Token = { kind: 'word' | 'quoted' | '(' | ')' | ':'; text: string };

function tokenize(s: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < s.length) {
    const c = s[i]!;
    if (/\s/.test(c)) {
      i++;
    } else if (c === '(' || c === ')' || c === ':') {
      out.push({ kind: c, text: c });
      i++;
    } else if (c === '"') {
      let j = i + 1;
      let text = '';
      while (j < s.length && s[j] !== '"') {
        if (s[j] === '\\' && j + 1 < s.length) j++;
        text += s[j];
        j++;
      }
      if (j >= s.length) throw new KqlError(s, 'unterminated quote');
      out.push({ kind: 'quoted', text });
      i = j + 1;
    } else {
      let j = i;
      while (j < s.length && !/[\s():"]/.test(s[j]!)) j++;
      out.push({ kind: 'word', text: s.slice(i, j) });
      i = j;
    }
  }
  return out;
}

class Parser {
  private i = 0;
  constructor(
    private readonly tokens: Token[],
    private readonly source: string,
  ) {}

  done(): boolean {
    return this.i >= this.tokens.length;
  }

  peek(): Token | undefined {
    return this.tokens[this.i];
  }

  private keyword(word: string): boolean {
    const t = this.peek();
    if (t?.kind === 'word' && t.text.toLowerCase() === word) {
      this.i++;
      return true;
    }
    return false;
  }

  parseOr(): estypes.QueryDslQueryContainer {
    const parts = [this.parseAnd()];
    while (this.keyword('or')) parts.push(this.parseAnd());
    return parts.length === 1 ? parts[0]! : { bool: { should: parts, minimum_should_match: 1 } };
  }

  private parseAnd(): estypes.QueryDslQueryContainer {
    const parts = [this.parseNot()];
    while (this.keyword('and')) parts.push(this.parseNot());
    return parts.length === 1 ? parts[0]! : { bool: { filter: parts } };
  }

  private parseNot(): estypes.QueryDslQueryContainer {
    if (this.keyword('not')) return { bool: { must_not: [this.parseNot()] } };
    return this.parsePrimary();
  }

  private parsePrimary(): estypes.QueryDslQueryContainer {
    const t = this.tokens[this.i++];
    if (!t) throw new KqlError(this.source, 'unexpected end');
    if (t.kind === '(') {
      const q = this.parseOr();
      if (this.tokens[this.i++]?.kind !== ')') throw new KqlError(this.source, 'missing )');
      return q;
    }
    if (t.kind !== 'word') throw new KqlError(this.source, `unexpected "${t.text}"`);
    if (this.peek()?.kind !== ':')
      throw new KqlError(this.source, `free-text term "${t.text}" (only field:value is supported)`);
    this.i++;
    const v = this.tokens[this.i++];
    if (!v || (v.kind !== 'word' && v.kind !== 'quoted'))
      throw new KqlError(this.source, `missing value after ${t.text}:`);
    if (v.kind === 'word' && v.text === '*') return { exists: { field: t.text } };
    if (v.kind === 'word' && /[*?]/.test(v.text))
      throw new KqlError(this.source, `wildcard value "${v.text}"`);
    if (v.kind === 'word' && /^[<>]=?/.test(v.text)) throw new KqlError(this.source, `range "${v.text}"`);
    return { term: { [t.text]: v.text } };
  }
}
