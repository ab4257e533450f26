// OpenPGP.js for relsign's interoperability suite: makes keys, signs and verifies as a user
// of OpenPGP.js would. One JSON request on stdin, one JSON answer on stdout:
//   {"op":"generate","type":"ecc","curve":"nistP384","signingSubkey":true,"passphrase":"","v6":false}
//   {"op":"sign","secret":"<armored>","passphrase":"","data":"<path>","out":"<path>"}
//   {"op":"verify","checks":[{"cert":"<path>","sig":"<path>","data":"<path>"}]}
// NODE_PATH must name the node_modules holding openpgp (scripts/test installs it).
const fs = require('fs');
const openpgp = require('openpgp');

async function generate(req) {
  const options = {
    type: req.type,
    userIDs: [{ name: 'OpenPGP.js ' + (req.curve || req.type), email: 'openpgpjs@example.org' }],
    format: 'armored',
    config: { v6Keys: !!req.v6 },
  };
  if (req.curve) options.curve = req.curve;
  if (req.rsaBits) options.rsaBits = req.rsaBits;
  if (req.passphrase) options.passphrase = req.passphrase;
  if (req.signingSubkey) options.subkeys = [{}, { sign: true }];
  const { privateKey, publicKey } = await openpgp.generateKey(options);
  const key = await openpgp.readKey({ armoredKey: publicKey });
  const subkeys = key.getSubkeys().map((s) => s.getFingerprint().toUpperCase());
  return { secret: privateKey, public: publicKey, fingerprint: key.getFingerprint().toUpperCase(), subkeys };
}

async function sign(req) {
  let privateKey = await openpgp.readPrivateKey({ armoredKey: req.secret });
  if (req.passphrase) privateKey = await openpgp.decryptKey({ privateKey, passphrase: req.passphrase });
  const message = await openpgp.createMessage({ binary: fs.readFileSync(req.data) });
  const signature = await openpgp.sign({ message, signingKeys: privateKey, detached: true });
  fs.writeFileSync(req.out, signature);
  return { ok: true };
}

async function verifyOne(check) {
  try {
    const verificationKeys = await openpgp.readKey({ armoredKey: fs.readFileSync(check.cert, 'utf8') });
    const signature = await openpgp.readSignature({ armoredSignature: fs.readFileSync(check.sig, 'utf8') });
    const message = await openpgp.createMessage({ binary: fs.readFileSync(check.data) });
    const { signatures } = await openpgp.verify({ message, signature, verificationKeys });
    await signatures[0].verified;
    return { ok: true };
  } catch (e) {
    return { ok: false, error: String(e && e.message ? e.message : e).split('\n')[0] };
  }
}

async function main() {
  const req = JSON.parse(fs.readFileSync(0, 'utf8'));
  let answer;
  if (req.op === 'generate') answer = await generate(req);
  else if (req.op === 'sign') answer = await sign(req);
  else if (req.op === 'verify') answer = await Promise.all(req.checks.map(verifyOne));
  else throw new Error('unknown op ' + req.op);
  process.stdout.write(JSON.stringify(answer));
}

main().catch((e) => {
  process.stderr.write(String(e && e.stack ? e.stack : e) + '\n');
  process.exit(1);
});
