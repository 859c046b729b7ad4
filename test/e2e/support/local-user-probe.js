// Run by the lab-token test as an unprivileged local user (`runuser -u nobody`).
// Reads {secrets, roots, url} as JSON on stdin (never argv: our own command line
// is world-readable) and reports, as JSON on stdout, what this user can see:
// which processes' command lines and environments it could read, where any of
// the secrets turned up, and what the server answered with and without the token.
'use strict';
const fs = require('fs');
const http = require('http');
const path = require('path');

const MAX_FILE = 8 * 1024 * 1024;
const SKIP = new Set(['/proc', '/sys', '/dev']);

function readInput() {
  return JSON.parse(fs.readFileSync(0, 'utf8'));
}

function scanProcesses(secrets, hits) {
  const cmdlineRead = [];
  const environRead = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    for (const [file, list] of [['cmdline', cmdlineRead], ['environ', environRead]]) {
      let data;
      try {
        data = fs.readFileSync(`/proc/${entry}/${file}`);
      } catch {
        continue; // not readable to this user, or gone
      }
      list.push(Number(entry));
      for (const s of secrets) if (data.includes(s)) hits.push(`/proc/${entry}/${file}`);
    }
  }
  return { cmdlineRead, environRead };
}

function scanFiles(roots, secrets, hits) {
  let filesRead = 0;
  const seen = new Set();
  const walk = p => {
    if (SKIP.has(p) || seen.has(p)) return;
    seen.add(p);
    let st;
    try {
      st = fs.lstatSync(p);
    } catch {
      return;
    }
    if (st.isDirectory()) {
      let names;
      try {
        names = fs.readdirSync(p);
      } catch {
        return; // a directory this user may not list
      }
      for (const n of names) walk(path.join(p, n));
    } else if (st.isFile() && st.size <= MAX_FILE) {
      let data;
      try {
        data = fs.readFileSync(p);
      } catch {
        return;
      }
      filesRead++;
      for (const s of secrets) if (data.includes(s)) hits.push(p);
    }
  };
  for (const r of roots) walk(r);
  return filesRead;
}

function post(url, token) {
  return new Promise(resolve => {
    const headers = { 'Content-Type': 'application/json' };
    if (token) headers.Authorization = `token ${token}`;
    const req = http.request(url, { method: 'POST', headers, timeout: 30000 }, res => {
      res.resume();
      res.on('end', () => resolve(res.statusCode));
    });
    req.on('error', e => resolve(`error: ${e.message}`));
    req.end(JSON.stringify({ name: 'covalent-ts' }));
  });
}

async function main() {
  const input = readInput();
  const hits = [];
  const procs = scanProcesses(input.secrets, hits);
  const filesRead = scanFiles(input.roots, input.secrets, hits);
  const withoutToken = await post(`${input.url}/api/kernels`, '');
  const wrongToken = await post(`${input.url}/api/kernels`, 'x'.repeat(48));
  const withToken = input.tryToken ? await post(`${input.url}/api/kernels`, input.tryToken) : null;
  process.stdout.write(JSON.stringify({ uid: process.getuid(), hits, filesRead, ...procs, withoutToken, wrongToken, withToken }));
}

main().catch(e => {
  process.stderr.write(String(e && e.stack));
  process.exit(1);
});
