/*
 * Follows a video's likes, comments and viewer count from Node, printing each event.
 *   npx tsx packages/client/examples/node.ts https://ovation.example v1
 * Node has no global EventSource; the `eventsource` package's one reports HTTP statuses (a 401
 * renews the token at once).
 */

import { fetchRealtimeToken, RealtimeClient, tokenFromWeb, videoTopic } from '@ovation/client';
import { EventSource } from 'eventsource';

const [origin = 'http://localhost:3000', videoId = 'demo'] = process.argv.slice(2);
const first = await fetchRealtimeToken({ baseUrl: origin, videoId });

const client = new RealtimeClient({
  urls: first.realtimeUrls,
  topics: [videoTopic(videoId)],
  token: tokenFromWeb({ baseUrl: origin, videoId, current: first }),
  createEventSource: (url) => new EventSource(url),
  reportLatency: false,
  onStatus: (status, { nodeUrl }) => console.log(`[${status}]`, nodeUrl ?? ''),
  onResync: (topic) => console.log(`resync ${topic}: reload its state`),
});
client.on('snapshot', (e) => console.log(`viewers ${e.data.viewers}, likes ${e.data.likes}`));
client.on('like', (e) => console.log(`+${e.data.count} likes (total ${e.data.total ?? '?'})`));
client.on('comment', (e) => console.log(`${e.data.author.name}: ${e.data.text}`));
client.on('viewers', (e) => console.log(`viewers ${e.data.count}`));
client.start();
process.on('SIGINT', () => {
  client.stop();
  process.exit(0);
});
