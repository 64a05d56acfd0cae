// What the app keeps on the phone (IndexedDB), so it works without signal:
//   outbox  records not yet accepted by the server, each with its own client id (the contact's
//           id), in the order they were made; a refused one stays with the server's reason;
//   drafts  the record being written, saved as it is typed (survives closing the app);
//   cache   the last answers the app read (my children's cards, duties, names of places), shown
//           when there is no network.
// Everything here is the signed-in caregiver's own; signing out clears it.
import { openDB, type DBSchema, type IDBPDatabase } from 'idb'

export interface PhotoFile { name: string; blob: Blob }

export interface OutboxRecord {
  id: string               // the contact's id, chosen here: resending it never makes a second contact
  seq: number              // creation order: records are sent in this order
  created_at: string
  child_id: string
  child_name: string
  body: Record<string, unknown>   // the POST /v1/contacts body
  photos: PhotoFile[]
  photos_sent: number      // photos the server has stored (they go after the contact)
  state: 'waiting' | 'refused'
  reason?: string
}

export interface Draft { key: string; saved_at: string; value: Record<string, unknown> }

interface Schema extends DBSchema {
  outbox: { key: string; value: OutboxRecord; indexes: { by_seq: number } }
  drafts: { key: string; value: Draft }
  cache: { key: string; value: { key: string; saved_at: string; value: unknown } }
}

let opened: Promise<IDBPDatabase<Schema>> | null = null

export function db(): Promise<IDBPDatabase<Schema>> {
  opened ??= openDB<Schema>('shouhu-app', 1, {
    upgrade(database) {
      database.createObjectStore('outbox', { keyPath: 'id' }).createIndex('by_seq', 'seq')
      database.createObjectStore('drafts', { keyPath: 'key' })
      database.createObjectStore('cache', { keyPath: 'key' })
    },
  })
  return opened
}

export async function remember(key: string, value: unknown): Promise<void> {
  await (await db()).put('cache', { key, saved_at: new Date().toISOString(), value })
}

export async function recalled<T>(key: string): Promise<T | undefined> {
  return (await (await db()).get('cache', key))?.value as T | undefined
}

export async function forgetEverything(): Promise<void> {
  const database = await db()
  await Promise.all([database.clear('outbox'), database.clear('drafts'), database.clear('cache')])
}
