// Runs a real S3-compatible HTTP server (@20minutes/s3rver: the S3 REST API with AWS Signature V4
// verification, objects stored on disk) as its own process, for test/helpers/s3.ts.
// argv: <data dir> <bucket> [--allow-mismatched-signatures]. Listens on 127.0.0.1 on a port the OS picks, creates the bucket,
// prints one line `{"port":N}` when ready, and exits on SIGTERM/SIGINT or when stdin closes.
'use strict';
const S3rver = require('@20minutes/s3rver');

const [directory, bucket, flag] = process.argv.slice(2);
if (!directory || !bucket) {
  process.stderr.write('usage: s3-server-main.cjs <data dir> <bucket>\n');
  process.exit(2);
}

const server = new S3rver({
  address: '127.0.0.1',
  port: 0,
  silent: true,
  directory,
  // Requests whose signature does not verify are refused (SignatureDoesNotMatch), as on AWS.
  // Only the virtual-hosted test turns this off: s3rver canonicalises a virtual-hosted request's
  // path as /<bucket>/<key>, where SigV4 (and AWS) sign the path as sent, /<key>.
  allowMismatchedSignatures: flag === '--allow-mismatched-signatures',
  // Buckets are addressed by path or by the Host header (virtual-hosted style).
  vhostBuckets: true,
  // Virtual-hosted names are <bucket>.s3.test (tests resolve them to loopback themselves).
  serviceEndpoint: 'test',
  configureBuckets: [{ name: bucket }],
});

server.run().then((address) => {
  process.stdout.write(`${JSON.stringify({ port: address.port })}\n`);
}, (err) => {
  process.stderr.write(`s3 server failed to start: ${err && err.stack ? err.stack : err}\n`);
  process.exit(1);
});

const stop = () => { server.close().finally(() => process.exit(0)); };
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
// The parent died without stopping us: do not outlive it.
process.stdin.on('end', stop);
process.stdin.resume();
