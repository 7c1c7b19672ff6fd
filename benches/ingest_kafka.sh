#!/usr/bin/env bash
# Ingest benchmark (issue 5): end-to-end events/s from a pre-filled Kafka topic into
# ClickHouse through `tally ingest`, beside the raw consume rate of the same topic by a
# bare rdkafka consumer that only counts (the broker's limit on this machine), and the
# worker's peak RSS.
#
#   benches/ingest_kafka.sh                       1,000,000 events
#   TALLY_BENCH_EVENTS=10000000 benches/ingest_kafka.sh
#   TALLY_BENCH_BIN_DIR=DIR benches/ingest_kafka.sh   binaries built elsewhere (no build):
#                                                    runs of two commits, alternated
#   TALLY_BENCH_CONFIG=FILE benches/ingest_kafka.sh     `tally ingest --config FILE` (e.g. a
#                                                    consumer property in ingest.kafka.properties)
#
# It starts its own broker (tansu, memory engine: the fastest this machine has) and
# its own ClickHouse on other ports than the test services, and stops them at the end.
# Broker, ClickHouse and the worker share the machine's cores. Prints one JSON line,
# with the CPU each process spent per event: the worker's from its own rusage
# (/usr/bin/time), ClickHouse's and the broker's from /proc/PID/stat before and after.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
EVENTS=${TALLY_BENCH_EVENTS:-1000000}
CUSTOMERS=${TALLY_BENCH_CUSTOMERS:-10000}
PARTITIONS=${TALLY_BENCH_PARTITIONS:-4}
export TALLY_SERVICES_DIR=$ROOT/target/bench-services
export TALLY_KAFKA_PORT=${TALLY_BENCH_KAFKA_PORT:-29092}
export TALLY_CLICKHOUSE_HTTP_PORT=${TALLY_BENCH_CLICKHOUSE_HTTP_PORT:-28123}
export TALLY_CLICKHOUSE_TCP_PORT=${TALLY_BENCH_CLICKHOUSE_TCP_PORT:-29000}
export TALLY_KAFKA_STORAGE=memory
BROKERS=127.0.0.1:$TALLY_KAFKA_PORT
CLICKHOUSE=http://127.0.0.1:$TALLY_CLICKHOUSE_HTTP_PORT
WORK=$TALLY_SERVICES_DIR/run
BIN=${TALLY_BENCH_BIN_DIR:-${CARGO_TARGET_DIR:-$ROOT/target}/release}

log() { printf '[bench] %s\n' "$*" >&2; }

[ -n "${TALLY_BENCH_BIN_DIR:-}" ] || cargo build -q --release -p tally --bin tally -p tally-tests --bin tally-kafka-probe
trap 'deploy/local/services down' EXIT
deploy/local/services down # a fresh broker and ClickHouse for every run
rm -rf "$TALLY_SERVICES_DIR/clickhouse/data"
deploy/local/services up >/dev/null
mkdir -p "$WORK"

TOPIC=bench-usage
"$BIN/tally-kafka-probe" create-topic --brokers "$BROKERS" --topic "$TOPIC" --partitions "$PARTITIONS"
"$BIN/tally-kafka-probe" create-topic --brokers "$BROKERS" --topic "$TOPIC-dead-letters" --partitions 1

log "producing $EVENTS events to $TOPIC ($PARTITIONS partitions)"
"$BIN/tally" produce --brokers "$BROKERS" --topic "$TOPIC" --events "$EVENTS" --customers "$CUSTOMERS" \
  --duplicates-per-mille 20 --malformed-per-mille 1 --expected "$WORK/expected.jsonl" 2>"$WORK/produce.log"
cat "$WORK/produce.log" >&2
"$BIN/tally-kafka-probe" seal --brokers "$BROKERS" --topic "$TOPIC"

log "raw consume rate (bare rdkafka consumer, counting only)"
RAW=$("$BIN/tally-kafka-probe" count --brokers "$BROKERS" --topic "$TOPIC")
log "raw: $RAW"

"$BIN/tally" migrate --clickhouse "$CLICKHOUSE" --database tally_bench >/dev/null
# CPU seconds (user + system) a process has used so far.
cpu_of() { awk -v hz="$(getconf CLK_TCK)" '{ print ($14 + $15) / hz }' "/proc/$1/stat"; }
CH_PID=$(cat "$TALLY_SERVICES_DIR/clickhouse.pid")
KAFKA_PID=$(cat "$TALLY_SERVICES_DIR/kafka.pid")
log "end to end: tally ingest --stop-at-end into ClickHouse"
CH_CPU0=$(cpu_of "$CH_PID")
KAFKA_CPU0=$(cpu_of "$KAFKA_PID")
START=$(date +%s.%N)
/usr/bin/time -f '%M %U %S' -o "$WORK/rss_kib" env TALLY_LOG="${TALLY_BENCH_LOG:-info}" "$BIN/tally" ingest ${TALLY_BENCH_CONFIG:+--config "$TALLY_BENCH_CONFIG"} --brokers "$BROKERS" --topic "$TOPIC" \
  --dead-letter-topic "$TOPIC-dead-letters" --group bench --clickhouse "$CLICKHOUSE" --database tally_bench \
  --stop-at-end 2>"$WORK/ingest.log"
END=$(date +%s.%N)
CH_CPU1=$(cpu_of "$CH_PID")
KAFKA_CPU1=$(cpu_of "$KAFKA_PID")
grep -q "ingest worker stopped" "$WORK/ingest.log" || { tail -20 "$WORK/ingest.log" >&2; exit 1; }

STORED=$(curl -sf "$CLICKHOUSE/" --data-binary "SELECT count() FROM (SELECT DISTINCT source, id FROM tally_bench.usage_events)")
VALID=$(sed -n 's/.*: \([0-9]*\) valid.*/\1/p' "$WORK/produce.log")
[ "$STORED" = "$VALID" ] || { log "stored $STORED distinct events, expected $VALID"; exit 1; }
TOTAL=$(( $(sed -n 's/^produced \([0-9]*\) messages.*/\1/p' "$WORK/produce.log") + PARTITIONS ))

python3 - "$RAW" "$WORK/ingest.log" "$START" "$END" "$(cat "$WORK/rss_kib")" "$EVENTS" "$TOTAL" \
  "$CH_CPU0 $CH_CPU1 $KAFKA_CPU0 $KAFKA_CPU1" "$STORED" <<'PY'
import json, re, sys
raw = json.loads(sys.argv[1])
log = open(sys.argv[2]).read()
stop = [l for l in log.splitlines() if "ingest worker stopped" in l][-1]
field = lambda name: float(re.search(name + r"=([0-9.]+)", stop).group(1))
messages, busy = field("messages"), field("seconds_from_first_message")
wall = float(sys.argv[4]) - float(sys.argv[3])
total = int(sys.argv[7])
rss_kib, user, system = sys.argv[5].split()
ch0, ch1, kafka0, kafka1 = map(float, sys.argv[8].split())
stored = int(sys.argv[9])
assert raw["messages"] == total, f"the counting consumer read {raw['messages']} of {total} messages"
assert messages == total, f"the worker read {messages} of {total} messages"

raw_rate = raw["messages"] / raw["seconds"]
e2e = messages / busy
print(json.dumps({
    "events": int(sys.argv[6]),
    "messages": int(messages),
    "raw_consume_msgs_per_s": round(raw_rate),
    "ingest_msgs_per_s": round(e2e),
    "ingest_wall_msgs_per_s": round(messages / wall),
    "ratio_to_raw": round(e2e / raw_rate, 3),
    "ingest_seconds": round(busy, 2),
    "ingest_wall_seconds": round(wall, 2),
    "peak_rss_mib": round(int(rss_kib) / 1024, 1),
    "worker_cpu_us_per_message": round((float(user) + float(system)) * 1e6 / messages, 2),
    "clickhouse_cpu_us_per_row": round((ch1 - ch0) * 1e6 / stored, 2),
    "broker_cpu_us_per_message": round((kafka1 - kafka0) * 1e6 / messages, 2),
    "stored_rows": stored,
}))
PY
