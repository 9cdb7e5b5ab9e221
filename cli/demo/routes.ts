// The shop's routes as the demo's traffic uses them: how often each is hit, what it does in the
// cache, the database and the queue, how big its answers are and which 4xx it gives now and then.

import type { Random } from './random.ts';

export interface RouteSpec {
  method: 'GET' | 'POST';
  route: string;
  weight: number;
  okStatus: number;
  /** Read through the cache: a miss reads the database and fills the cache. */
  cached: boolean;
  /** Database work beyond a cache miss. */
  db: 'none' | 'read' | 'write';
  /** Publishes an order message to the queue. */
  publish: boolean;
  /** The 4xx this route answers now and then, and how often. */
  clientError: { status: number; rate: number };
  /** Response body size range. */
  bytes: [number, number];
  path(random: Random): string;
}

export const ROUTES: readonly RouteSpec[] = [
  {
    method: 'GET',
    route: '/',
    weight: 15,
    okStatus: 200,
    cached: true,
    db: 'none',
    publish: false,
    clientError: { status: 404, rate: 0.002 },
    bytes: [9_000, 14_000],
    path: () => '/',
  },
  {
    method: 'GET',
    route: '/api/products',
    weight: 40,
    okStatus: 200,
    cached: true,
    db: 'none',
    publish: false,
    clientError: { status: 404, rate: 0.02 },
    bytes: [1_500, 6_000],
    path: (r) =>
      r.chance(0.4) ? `/api/products?page=${r.int(1, 12)}` : `/api/products/${r.int(1, 480)}`,
  },
  {
    method: 'GET',
    route: '/api/cart',
    weight: 15,
    okStatus: 200,
    cached: true,
    db: 'none',
    publish: false,
    clientError: { status: 401, rate: 0.02 },
    bytes: [400, 1_500],
    path: () => '/api/cart',
  },
  {
    method: 'POST',
    route: '/api/cart',
    weight: 12,
    okStatus: 200,
    cached: false,
    db: 'write',
    publish: false,
    clientError: { status: 400, rate: 0.01 },
    bytes: [300, 900],
    path: () => '/api/cart',
  },
  {
    method: 'GET',
    route: '/api/orders',
    weight: 10,
    okStatus: 200,
    cached: false,
    db: 'read',
    publish: false,
    clientError: { status: 401, rate: 0.01 },
    bytes: [800, 3_000],
    path: () => '/api/orders',
  },
  {
    method: 'POST',
    route: '/api/orders',
    weight: 8,
    okStatus: 201,
    cached: false,
    db: 'write',
    publish: true,
    clientError: { status: 409, rate: 0.02 },
    bytes: [250, 400],
    path: () => '/api/orders',
  },
];
