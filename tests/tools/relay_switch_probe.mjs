// Probe: a relay's child's largest frame gap when the relay switches to an upstream lagging by
// LAG_MS and back, by replaceTrack (MODE=direct) or through the Forwarder (MODE=forwarder).
// Run: LAG_MS=300 MODE=direct scripts/in-loopback.sh node tests/tools/relay_switch_probe.mjs
import { measureSwitchGaps } from '../harness/relay_switch.mjs';

const lagMs = Number(process.env.LAG_MS ?? 300);
const mode = process.env.MODE ?? 'direct';
console.log(JSON.stringify({ mode, lagMs, ...(await measureSwitchGaps({ mode, lagMs })) }));
