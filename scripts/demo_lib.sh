# Shared by the demo scripts (sourced). Needs $work; appends each started process to $sim_pids.
start_sim() {  # start_sim NAME: starts a mongosim with its dbpath in $work/NAME, sets <NAME>_uri
  mkdir -p "$work/$1"
  ./build/bin/mongosim --port 0 --dbpath "$work/$1" --log-level warn >"$work/$1.log" 2>&1 &
  sim_pids="${sim_pids:-} $!"
  local hp=""
  for _ in $(seq 100); do
    hp="$(grep -o 'listening on [0-9.:]*' "$work/$1.log" | head -1 | cut -d' ' -f3 || true)"
    [ -n "$hp" ] && break
    sleep 0.1
  done
  printf -v "${1}_uri" 'mongodb://%s/?replicaSet=rs0' "$hp"
}
