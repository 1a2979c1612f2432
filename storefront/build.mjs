// Builds the storefront into crates/bistro-server/assets/storefront/, which
// is committed and embedded in the bistro binary (rust-embed):
//
//   index.html                 names the two assets below
//   assets/app-<hash>.js       the whole script (esbuild bundle, minified)
//   assets/app-<hash>.css      the whole style sheet
//   *.gz, *.br                 each of them compressed (gzip 9, brotli 11)
//   persisted-documents.json   the manifest of every operation the page
//                              sends (GraphQL Code Generator's, sha256):
//                              the server trusts it and is never asked
//                              for it (it is not served)
//
// The output depends only on the sources and the pinned tools: CI builds
// again and fails when the committed files differ. Run `npm run build` (it
// regenerates the operation types and type-checks first).

import { build } from 'esbuild';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, '..', 'crates', 'bistro-server', 'assets', 'storefront');

// The generated documents are pretty-printed; whitespace means nothing to
// GraphQL outside strings, and the storefront's documents hold no strings.
const compactDocuments = {
  name: 'compact-documents',
  setup(esbuild) {
    esbuild.onLoad({ filter: /[\\/]generated[\\/]graphql\.ts$/ }, (args) => {
      const source = readFileSync(args.path, 'utf8');
      const contents = source.replace(/new TypedDocumentString\(`([^`]*)`/g, (_, doc) => {
        if (doc.includes('"')) throw new Error('a document with a string literal: keep its whitespace');
        return `new TypedDocumentString(\`${doc.replace(/\s+/g, ' ').trim()}\``;
      });
      return { contents, loader: 'ts' };
    });
  },
};

const result = await build({
  plugins: [compactDocuments],
  entryPoints: { app: join(here, 'src', 'main.ts') },
  bundle: true,
  minify: true,
  format: 'esm',
  target: ['es2022', 'chrome110', 'firefox110', 'safari16'],
  outdir: 'out',
  entryNames: '[name]-[hash]',
  write: false,
  legalComments: 'eof',
  charset: 'utf8',
  metafile: false,
  logLevel: 'warning',
});

const files = new Map();
let js;
let css;
for (const file of result.outputFiles) {
  const name = file.path.split(/[\\/]/).pop();
  if (name.endsWith('.js')) js = name;
  else if (name.endsWith('.css')) css = name;
  else throw new Error(`unexpected output ${name}`);
  files.set(`assets/${name}`, Buffer.from(file.contents));
}
if (!js || !css) throw new Error('esbuild produced no script or no style sheet');

const template = readFileSync(join(here, 'src', 'index.html'), 'utf8');
files.set('index.html', Buffer.from(template.replace('{{js}}', js).replace('{{css}}', css)));

rmSync(out, { recursive: true, force: true });
mkdirSync(join(out, 'assets'), { recursive: true });
const rows = [];
for (const [name, bytes] of [...files].sort(([a], [b]) => a.localeCompare(b))) {
  const gz = gzipSync(bytes, { level: 9 });
  const br = brotliCompressSync(bytes, {
    params: {
      [constants.BROTLI_PARAM_QUALITY]: 11,
      [constants.BROTLI_PARAM_SIZE_HINT]: bytes.length,
      [constants.BROTLI_PARAM_MODE]: name.endsWith('.html') || name.endsWith('.css') || name.endsWith('.js')
        ? constants.BROTLI_MODE_TEXT
        : constants.BROTLI_MODE_GENERIC,
    },
  });
  writeFileSync(join(out, name), bytes);
  writeFileSync(join(out, `${name}.gz`), gz);
  writeFileSync(join(out, `${name}.br`), br);
  rows.push({ name, raw: bytes.length, gzip: gz.length, brotli: br.length });
}

// The manifest of the documents this bundle sends by hash, beside it, so the
// server that embeds the bundle knows every one of them.
const manifest = readFileSync(join(here, 'src', 'generated', 'persisted-documents.json'));
writeFileSync(join(out, 'persisted-documents.json'), manifest);
rows.push({ name: 'persisted-documents.json', raw: manifest.length });

const sum = createHash('sha256');
for (const [name, bytes] of [...files].sort(([a], [b]) => a.localeCompare(b))) sum.update(name).update(bytes);
const width = Math.max(...rows.map((r) => r.name.length));
console.log(`storefront built into ${out}`);
for (const r of rows) {
  const compressed = r.gzip === undefined ? '  (not served)' : `  ${String(r.gzip).padStart(6)} B gzip  ${String(r.brotli).padStart(6)} B brotli`;
  console.log(`  ${r.name.padEnd(width)}  ${String(r.raw).padStart(7)} B raw${compressed}`);
}
console.log(`  content sha256 ${sum.digest('hex').slice(0, 16)}`);
