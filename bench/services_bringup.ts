/**
 * Bring-up and teardown times of the test services (real Ceph RGW and
 * nats-server), against spawning `/bin/true` in the same run as reference.
 *
 * Run: deno run -A bench/services_bringup.ts [N]   (default N = 3)
 *
 * @module
 */

import { PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { startCephRgw, startNats } from "../tests/services/mod.ts";

const runs = Number(Deno.args[0] ?? 3);

interface Sample {
  ready: number;
  firstPut?: number;
  stop: number;
}

function seconds(from: number): number {
  return (performance.now() - from) / 1000;
}

function stats(values: number[]): string {
  const sorted = [...values].sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)];
  return `min ${sorted[0].toFixed(3)} s  median ${median.toFixed(3)} s`;
}

async function referenceSpawn(): Promise<number> {
  const start = performance.now();
  await new Deno.Command("/bin/true").output();
  return seconds(start);
}

async function rgwOnce(): Promise<Sample> {
  const start = performance.now();
  const s3 = await startCephRgw();
  const ready = seconds(start);
  const client = new S3Client(s3.clientConfig());
  try {
    await s3.createBucket("bench");
    await client.send(new PutObjectCommand({ Bucket: "bench", Key: "k", Body: "v" }));
  } finally {
    client.destroy();
  }
  const firstPut = seconds(start);
  const stopStart = performance.now();
  await s3.stop();
  return { ready, firstPut, stop: seconds(stopStart) };
}

async function natsOnce(): Promise<Sample> {
  const start = performance.now();
  const nats = await startNats();
  const ready = seconds(start);
  const stopStart = performance.now();
  await nats.stop();
  return { ready, stop: seconds(stopStart) };
}

const reference: number[] = [];
for (let i = 0; i < 5; i++) reference.push(await referenceSpawn());
const rgw: Sample[] = [];
for (let i = 0; i < runs; i++) rgw.push(await rgwOnce());
const nats: Sample[] = [];
for (let i = 0; i < runs; i++) nats.push(await natsOnce());

const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];
const ref = median(reference);
console.log(`services bring-up, N=${runs} (machine: ${navigator.hardwareConcurrency} cores)`);
console.log(`reference spawn+reap /bin/true   ${stats(reference)}`);
console.log(`Ceph RGW start -> ready          ${stats(rgw.map((s) => s.ready))}`);
console.log(`Ceph RGW start -> first PUT      ${stats(rgw.map((s) => s.firstPut!))}`);
console.log(`Ceph RGW stop (all daemons, dir) ${stats(rgw.map((s) => s.stop))}`);
console.log(`NATS -js start -> ready          ${stats(nats.map((s) => s.ready))}`);
console.log(`NATS stop (SIGTERM, dir)         ${stats(nats.map((s) => s.stop))}`);
console.log(
  `ratios to reference spawn (median): RGW ready ${
    (median(rgw.map((s) => s.ready)) / ref).toFixed(0)
  }x, NATS ready ${(median(nats.map((s) => s.ready)) / ref).toFixed(0)}x`,
);
