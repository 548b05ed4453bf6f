/**
 * What PostgreSQL's own TOAST compression gives on e-mail HTML bodies, before fivetier adds any
 * of its own. For bodies of about 2 KB, 20 KB and 200 KB it stores the same generated bodies in
 * three tables, a text column each with COMPRESSION pglz, COMPRESSION lz4, and STORAGE EXTERNAL
 * (never compressed), and reports per size and column: octet_length against pg_column_size,
 * which compression pg_column_compression says each value got, and the time to insert and to read
 * them back. For comparison it also gives the ratio of Node's gzip (level 6) and brotli (quality 5)
 * on the same bodies, what an application-side compression could reach.
 *
 *   npx tsx bench/content-compression.ts     (FIVETIER_BENCH_PG_URL, FIVETIER_BENCH_BODIES=200)
 */
import { randomBytes } from 'node:crypto';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';
import pg from 'pg';

const ADMIN = process.env.FIVETIER_BENCH_PG_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';
const BODIES = Number(process.env.FIVETIER_BENCH_BODIES ?? 200);
const SIZES = [2_048, 20_480, 204_800];

// A deterministic generator, so every run measures the same bodies.
let seed = 42;
const rand = () => ((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31);
const WORDS = ('the of and to in a is that for it as was with be by on not he this are or his from at which but have an they you were her she there one all we their ' +
  'offer product order account team update shipping discount welcome customer service quality delivery price new free today week month join event webinar ' +
  'report analysis feature release support invoice payment subscription plan upgrade trial success growth marketing campaign newsletter partner community ' +
  'design launch story guide tips learn more about read click here view online browser unsubscribe preferences privacy policy terms contact address company').split(' ');
const word = () => WORDS[Math.floor(rand() * WORDS.length)]!;
const sentence = (n: number) => Array.from({ length: n }, word).join(' ');
const token = () => randomBytes(12).toString('base64url');

/** A marketing e-mail of at least `target` bytes: a table layout with inline styles, varied copy and tracked links. */
function htmlBody(target: number): string {
  const head = `<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${sentence(5)}</title>
<style>body{margin:0;padding:0;background:#f4f4f7;font-family:Helvetica,Arial,sans-serif}.wrapper{width:100%;background:#f4f4f7}.content{max-width:600px;margin:0 auto;background:#ffffff}
.button{display:inline-block;padding:12px 24px;background:#3869d4;color:#ffffff;text-decoration:none;border-radius:4px}.footer{color:#a8aaaf;font-size:12px;text-align:center}</style></head>
<body><table class="wrapper" width="100%" cellpadding="0" cellspacing="0" role="presentation"><tr><td align="center"><table class="content" width="600" cellpadding="0" cellspacing="0" role="presentation">
<tr><td style="padding:24px;text-align:center"><a href="https://example.com/t/${token()}"><img src="https://cdn.example.com/logo.png" alt="Logo" width="140" height="40" style="border:0"></a></td></tr>\n`;
  const foot = `<tr><td class="footer" style="padding:24px"><p>${sentence(20)}</p><p><a href="https://example.com/u/${token()}" style="color:#a8aaaf">Unsubscribe</a> · <a href="https://example.com/p/${token()}" style="color:#a8aaaf">Preferences</a></p></td></tr>
</table></td></tr></table></body></html>`;
  let rows = '';
  while (head.length + rows.length + foot.length < target) {
    rows += `<tr><td style="padding:16px 24px;font-size:16px;line-height:24px;color:#51545e"><h2 style="margin:0 0 8px;font-size:20px;color:#333333">${sentence(6)}</h2>
<p style="margin:0 0 12px">${sentence(40 + Math.floor(rand() * 30))}.</p><p style="margin:0 0 12px"><a class="button" href="https://example.com/c/${token()}" style="color:#ffffff">${sentence(3)}</a></p></td></tr>\n`;
  }
  return head + rows + foot;
}

const COLUMNS = [
  { name: 'pglz', ddl: 'body text COMPRESSION pglz' },
  { name: 'lz4', ddl: 'body text COMPRESSION lz4' },
  { name: 'none', ddl: 'body text' },
] as const;

async function main(): Promise<void> {
  const db = `ft_bench_compression_${randomBytes(3).toString('hex')}`;
  const admin = new pg.Client({ connectionString: ADMIN });
  await admin.connect();
  await admin.query(`create database ${db}`);
  const url = new URL(ADMIN);
  url.pathname = `/${db}`;
  const c = new pg.Client({ connectionString: url.toString() });
  await c.connect();
  try {
    const version = (await c.query<{ v: string }>('select version() as v')).rows[0]!.v;
    console.log(`${version}; ${BODIES} bodies per size`);
    console.log('| body | column | raw bytes (avg) | stored bytes (avg) | stored / raw | values compressed (method) | insert ms | read ms |');
    console.log('|---|---|---|---|---|---|---|---|');
    const appSide: string[] = [];
    for (const size of SIZES) {
      const bodies = Array.from({ length: BODIES }, () => htmlBody(size));
      for (const col of COLUMNS) {
        const table = `body_${col.name}_${size}`;
        await c.query(`create table ${table} (id int primary key, ${col.ddl})`);
        if (col.name === 'none') await c.query(`alter table ${table} alter column body set storage external`);
        let t0 = performance.now();
        await c.query(`insert into ${table} select i, b from unnest($1::text[]) with ordinality as u(b, i)`, [bodies]);
        const insertMs = performance.now() - t0;
        t0 = performance.now();
        // octet_length would read the size from the TOAST header; md5 needs every byte, decompressed
        await c.query(`select count(distinct md5(body)) from ${table}`);
        const readMs = performance.now() - t0;
        const { rows } = await c.query<{ raw: string; stored: string }>(
          `select avg(octet_length(body))::bigint as raw, avg(pg_column_size(body))::bigint as stored from ${table}`);
        const r = rows[0]!;
        const methods = (await c.query<{ m: string; n: number }>(`select coalesce(pg_column_compression(body), 'none') as m, count(*)::int as n from ${table} group by 1 order by 1`)).rows
          .map((x) => `${x.n} ${x.m}`).join(', ');
        console.log(`| ${(size / 1024).toFixed(0)} KB | ${col.name} | ${r.raw} | ${r.stored} | ${(Number(r.stored) / Number(r.raw)).toFixed(3)} | ${methods} | ${insertMs.toFixed(0)} | ${readMs.toFixed(0)} |`);
      }
      const raw = bodies.reduce((n, b) => n + Buffer.byteLength(b), 0);
      const gz = bodies.reduce((n, b) => n + gzipSync(b, { level: 6 }).length, 0);
      const br = bodies.reduce((n, b) => n + brotliCompressSync(b, { params: { [constants.BROTLI_PARAM_QUALITY]: 5 } }).length, 0);
      appSide.push(`| ${(size / 1024).toFixed(0)} KB | ${(gz / raw).toFixed(3)} | ${(br / raw).toFixed(3)} |`);
    }
    console.log('\nApplication-side, same bodies (compressed / raw):\n| body | gzip 6 | brotli 5 |\n|---|---|---|');
    for (const line of appSide) console.log(line);
  } finally {
    await c.end();
    await admin.query(`drop database ${db}`);
    await admin.end();
  }
}

await main();
