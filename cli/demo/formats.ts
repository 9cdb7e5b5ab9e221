// Text renderers of the demo's web side as the real servers write it: haproxy's stats CSV,
// nginx's stub_status page and access log line, and the shop app's JSON log line.

import {
  CHECK_FALL,
  CHECK_RISE,
  RESPONSE_CLASSES,
  type HaproxyServer,
  type HaproxyState,
  type NginxState,
  type ProxyCounters,
} from './state.ts';

// ------------------------------------------------------------------------------------ haproxy

/** The `show stat` columns of haproxy 2.6, in its order (the `-` column is haproxy's too). */
const HAPROXY_COLUMNS = (
  'pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,dreq,dresp,ereq,econ,eresp,wretr,wredis,' +
  'status,weight,act,bck,chkfail,chkdown,lastchg,downtime,qlimit,pid,iid,sid,throttle,lbtot,' +
  'tracked,type,rate,rate_lim,rate_max,check_status,check_code,check_duration,hrsp_1xx,hrsp_2xx,' +
  'hrsp_3xx,hrsp_4xx,hrsp_5xx,hrsp_other,hanafail,req_rate,req_rate_max,req_tot,cli_abrt,' +
  'srv_abrt,comp_in,comp_out,comp_byp,comp_rsp,lastsess,last_chk,last_agt,qtime,ctime,rtime,' +
  'ttime,agent_status,agent_code,agent_duration,check_desc,agent_desc,check_rise,check_fall,' +
  'check_health,agent_rise,agent_fall,agent_health,addr,cookie,mode,algo,conn_rate,' +
  'conn_rate_max,conn_tot,intercepted,dcon,dses,wrew,connect,reuse,cache_lookups,cache_hits,' +
  'srv_icur,src_ilim,qtime_max,ctime_max,rtime_max,ttime_max,eint,idle_conn_cur,safe_conn_cur,' +
  'used_conn_cur,need_conn_est,uweight,agg_server_status,agg_server_check_status,' +
  'agg_check_status,-,ssl_sess,ssl_reused_sess,ssl_failed_handshake,h2_headers_rcvd,' +
  'h2_data_rcvd,h2_settings_rcvd,h2_rst_stream_rcvd,h2_goaway_rcvd,' +
  'h2_detected_conn_protocol_errors,h2_detected_strm_protocol_errors,h2_rst_stream_resp,' +
  'h2_goaway_resp,h2_open_connections,h2_backend_open_streams,h2_total_connections,' +
  'h2_backend_total_streams,h1_open_connections,h1_open_streams,h1_total_connections,' +
  'h1_total_streams,h1_bytes_in,h1_bytes_out,h1_spliced_bytes_in,h1_spliced_bytes_out'
).split(',');

type Fields = Record<string, string | number>;

/** One CSV line: every column in order, empty where haproxy leaves it empty, and a last comma. */
function csvLine(fields: Fields): string {
  return `${HAPROXY_COLUMNS.map((column) => fields[column] ?? '').join(',')},\n`;
}

const seconds = (ms: number) => Math.max(0, Math.floor(ms / 1000));

/** What frontends, backends and servers all show. */
function common(c: ProxyCounters, now: number): Fields {
  const fields: Fields = {
    scur: c.scur,
    smax: c.smax,
    stot: c.stot,
    bin: c.bin,
    bout: c.bout,
    rate: c.rate,
    rate_max: c.rateMax,
    req_tot: c.reqTot,
    pid: 1,
    mode: 'http',
  };
  for (const code of RESPONSE_CLASSES) fields[`hrsp_${code}`] = c.hrsp[code];
  fields['lastsess'] = c.lastSessionAt === undefined ? -1 : seconds(now - c.lastSessionAt);
  return fields;
}

const timings = (c: ProxyCounters): Fields => ({
  qtime: Math.round(c.qtime),
  ctime: Math.round(c.ctime),
  rtime: Math.round(c.rtime),
  ttime: Math.round(c.ttime),
});

function serverLine(s: HaproxyServer, backend: string, index: number, now: number): string {
  const up = s.status === 'UP';
  return csvLine({
    ...common(s, now),
    ...timings(s),
    pxname: backend,
    svname: s.name,
    qcur: 0,
    qmax: 0,
    dresp: 0,
    econ: 0,
    eresp: 0,
    wretr: 0,
    wredis: 0,
    status: s.status,
    weight: 1,
    act: 1,
    bck: 0,
    chkfail: s.chkfail,
    chkdown: s.chkdown,
    lastchg: seconds(now - s.lastChangeAt),
    downtime: seconds(s.downtimeMs),
    iid: 2,
    sid: index + 1,
    lbtot: s.lbtot,
    type: 2,
    check_status: s.checkStatus,
    check_code: s.checkStatus === 'L7OK' ? 200 : '',
    check_duration: s.checkDurationMs,
    cli_abrt: 0,
    srv_abrt: 0,
    last_chk: up ? '' : 'Connection refused',
    check_desc: up ? 'Layer7 check passed' : 'Layer4 connection problem',
    check_rise: CHECK_RISE,
    check_fall: CHECK_FALL,
    check_health: up ? CHECK_RISE + CHECK_FALL - 1 : 0,
    connect: Math.ceil(s.stot / 8),
    reuse: s.stot - Math.ceil(s.stot / 8),
    uweight: 1,
    '-': '-',
  });
}

/** haproxy's stats page as CSV (`/stats;csv`): the frontend, each server, then the backend. */
export function haproxyCsv(h: HaproxyState, now: number): string {
  const header = `# ${HAPROXY_COLUMNS.join(',')},\n`;
  const frontend = csvLine({
    ...common(h.frontend, now),
    pxname: h.frontendName,
    svname: 'FRONTEND',
    slim: 2000,
    dreq: 0,
    dresp: 0,
    ereq: 0,
    status: 'OPEN',
    iid: 1,
    sid: 0,
    type: 0,
    rate_lim: 0,
    req_rate: h.frontend.rate,
    req_rate_max: h.frontend.rateMax,
    comp_in: 0,
    comp_out: 0,
    comp_byp: 0,
    comp_rsp: 0,
    conn_rate: h.frontend.rate,
    conn_rate_max: h.frontend.rateMax,
    conn_tot: Math.ceil(h.frontend.stot / 3),
    intercepted: 0,
    '-': '-',
  });
  const up = h.servers.filter((s) => s.status === 'UP').length;
  const b = h.backend;
  const backend = csvLine({
    ...common(b, now),
    ...timings(b),
    pxname: h.backendName,
    svname: 'BACKEND',
    qcur: 0,
    qmax: 0,
    slim: 200,
    dreq: 0,
    dresp: 0,
    econ: 0,
    eresp: 0,
    wretr: 0,
    wredis: 0,
    status: b.status,
    weight: up,
    act: up,
    bck: 0,
    chkdown: b.chkdown,
    lastchg: seconds(now - b.lastChangeAt),
    downtime: seconds(b.downtimeMs),
    iid: 2,
    sid: 0,
    lbtot: h.servers.reduce((sum, s) => sum + s.lbtot, 0),
    type: 1,
    cli_abrt: 0,
    srv_abrt: 0,
    algo: 'roundrobin',
    uweight: up,
    '-': '-',
  });
  const servers = h.servers.map((s, i) => serverLine(s, h.backendName, i, now));
  return header + frontend + servers.join('') + backend;
}

// -------------------------------------------------------------------------------------- nginx

/** The stub_status page, laid out (trailing spaces too) as ngx_http_stub_status_module writes it. */
export function stubStatus(n: NginxState): string {
  return (
    `Active connections: ${n.active} \n` +
    'server accepts handled requests\n' +
    ` ${n.accepted} ${n.handled} ${n.requests} \n` +
    `Reading: ${n.reading} Writing: ${n.writing} Waiting: ${n.waiting} \n`
  );
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const two = (n: number) => String(n).padStart(2, '0');

/** nginx's $time_local in UTC: 10/Oct/2000:13:55:36 +0000 */
export function timeLocal(ms: number): string {
  const d = new Date(ms);
  const date = `${two(d.getUTCDate())}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}`;
  const time = `${two(d.getUTCHours())}:${two(d.getUTCMinutes())}:${two(d.getUTCSeconds())}`;
  return `${date}:${time} +0000`;
}

export interface AccessEntry {
  ts: number;
  remoteAddr: string;
  method: string;
  path: string;
  status: number;
  bytes: number;
  referer: string;
  userAgent: string;
  /** Seconds. */
  requestTime: number;
}

/** One line of nginx's combined format followed by $request_time (log_format timed). */
export function nginxAccessLine(e: AccessEntry): string {
  return (
    `${e.remoteAddr} - - [${timeLocal(e.ts)}] "${e.method} ${e.path} HTTP/1.1" ${e.status} ` +
    `${e.bytes} "${e.referer}" "${e.userAgent}" ${e.requestTime.toFixed(3)}`
  );
}

// ---------------------------------------------------------------------------------------- app

export interface AppLogEntry {
  ts: number;
  method: string;
  path: string;
  route: string;
  status: number;
  /** Seconds. */
  duration: number;
  traceId: string;
  /** Why it failed, for a 5xx. */
  error?: string;
  cache?: string;
}

/** One JSON line of the shop app's log: level error for a 5xx, warn for a 4xx. */
export function appLogLine(e: AppLogEntry): string {
  const level = e.status >= 500 ? 'error' : e.status >= 400 ? 'warn' : 'info';
  const what = `${e.method} ${e.path} ${e.status}`;
  return JSON.stringify({
    time: new Date(e.ts).toISOString(),
    level,
    msg: e.error === undefined ? what : `${what}: ${e.error}`,
    method: e.method,
    path: e.path,
    route: e.route,
    status: e.status,
    duration_ms: Math.round(e.duration * 10_000) / 10,
    ...(e.cache !== undefined ? { cache: e.cache } : {}),
    trace_id: e.traceId,
  });
}
