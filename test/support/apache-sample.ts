/**
 * The first line of the public Apache sample (../shared/datasets/weblogs) and the typed record the
 * weblogs transform must make of it: one fixture for the in-process and the deployed-Lambda tests.
 */
export const FIRST_APACHE_LINE =
  '83.149.9.216 - - [17/May/2015:10:05:03 +0000] "GET /presentations/logstash-monitorama-2013/images/kibana-search.png HTTP/1.1" 200 203023 "http://semicomplete.com/presentations/logstash-monitorama-2013/" "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_9_1) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/32.0.1700.77 Safari/537.36"';

export const FIRST_APACHE_RECORD = {
  event_time: "2015-05-17 10:05:03",
  client_host: "83.149.9.216",
  ident: null,
  auth_user: null,
  method: "GET",
  path: "/presentations/logstash-monitorama-2013/images/kibana-search.png",
  protocol: "HTTP/1.1",
  status: 200,
  bytes: 203023,
  referer: "http://semicomplete.com/presentations/logstash-monitorama-2013/",
  user_agent:
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_9_1) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/32.0.1700.77 Safari/537.36",
} as const;
