// A real client against mongosim: mongosh (the official shell, Node.js driver inside) doing
// CRUD, indexes, catalog operations and aggregation, checking every result. Run as
//   mongosh "$MONGOSIM_URI" --quiet --norc --file mongosh_check.js
// A failed check throws, so mongosh exits non-zero.
const assert = require('assert');
let checks = 0;
// Compares as canonical Extended JSON: types, values and key order must all agree (the
// driver's documents come from another realm, so deepStrictEqual's prototype check can't).
function eq(actual, expected, what) {
  checks++;
  const a = EJSON.stringify(actual, {relaxed: false}), e = EJSON.stringify(expected, {relaxed: false});
  assert.strictEqual(a, e, `${what}: got ${a}, expected ${e}`);
}
function ok(cond, what, got) {
  checks++;
  assert.ok(cond, `${what}${got === undefined ? '' : ': got ' + EJSON.stringify(got)}`);
}
function fails(fn, code, what) {
  try {
    fn();
  } catch (e) {
    eq(e.code, code, `${what}: error code`);
    return e;
  }
  throw new Error(`${what}: no error (expected code ${code})`);
}

const hello = db.adminCommand({hello: 1});
ok(hello.isWritablePrimary === true && hello.setName === 'rs0', 'hello: writable primary of rs0', hello);

const t = db.getSiblingDB('mongosh_check');
t.dropDatabase();
db.getSiblingDB('mongosh_check_other').dropDatabase();

// ---- CRUD ----
const c = t.items;
eq(c.insertOne({_id: 1, name: 'ada', n: 5, tags: ['a', 'b']}).insertedId, 1, 'insertOne');
const many = c.insertMany([2, 3, 4, 5, 6].map((i) => ({_id: i, name: 'p' + i, n: i * 10, tags: ['t' + (i % 2)]})));
eq(Object.values(many.insertedIds), [2, 3, 4, 5, 6], 'insertMany ids');
eq(c.countDocuments({}), 6, 'countDocuments');
eq(c.find({n: {$gt: 15}}, {_id: 1}).sort({n: -1}).skip(1).limit(2).toArray(), [{_id: 5}, {_id: 4}],
   'find with range, projection, sort, skip, limit');
eq(c.findOne({tags: 'b'}, {'tags.$': 1}), {_id: 1, tags: ['b']}, 'positional projection');
eq(c.distinct('tags').sort(), ['a', 'b', 't0', 't1'], 'distinct');
let r = c.updateOne({_id: 2}, {$set: {name: 'bob'}, $inc: {n: 1}});
eq([r.matchedCount, r.modifiedCount], [1, 1], 'updateOne counts');
eq(c.findOne({_id: 2}), {_id: 2, name: 'bob', n: 21, tags: ['t0']}, 'updateOne applied');
r = c.updateMany({n: {$gte: 30}}, {$addToSet: {tags: 'big'}});
eq([r.matchedCount, r.modifiedCount], [4, 4], 'updateMany counts');
r = c.updateOne({_id: 10}, {$setOnInsert: {name: 'new'}}, {upsert: true});
eq([r.upsertedCount, r.insertedId], [1, 10], 'upsert (mongosh reports the upserted _id as insertedId)');
r = c.replaceOne({_id: 10}, {name: 'replaced'});
eq(c.findOne({_id: 10}), {_id: 10, name: 'replaced'}, 'replaceOne');
eq(c.findOneAndUpdate({_id: 1}, {$inc: {n: 1}}, {returnDocument: 'after'}).n, 6, 'findOneAndUpdate after');
eq(c.findOneAndDelete({_id: 10}), {_id: 10, name: 'replaced'}, 'findOneAndDelete');
r = c.bulkWrite([{insertOne: {document: {_id: 20}}}, {updateOne: {filter: {_id: 20}, update: {$set: {x: 1}}}},
                 {deleteOne: {filter: {_id: 6}}}]);
eq([r.insertedCount, r.modifiedCount, r.deletedCount], [1, 1, 1], 'bulkWrite counts');
fails(() => c.updateOne({_id: 1}, {$set: {_id: 99}}), 66, 'modifying _id');
try {
  c.insertMany([{_id: 30}, {_id: 1}, {_id: 31}], {ordered: false});
  throw new Error('unordered insertMany with a duplicate did not fail');
} catch (e) {
  eq(e.code, 11000, 'unordered insertMany error code');
  eq(e.result.insertedCount, 2, 'unordered insertMany inserts the rest');
}
eq(c.deleteMany({_id: {$gte: 20}}).deletedCount, 3, 'deleteMany');
c.insertOne({_id: 'types', d: ISODate('2024-05-17T12:30:45.123Z'), l: NumberLong('1099511627776'),
             dec: NumberDecimal('1.10'), oid: ObjectId('64b7f0a0a0a0a0a0a0a0a0a0'), bin: BinData(0, 'AAE=')});
const types = c.findOne({_id: 'types'});
ok(types.d.getTime() === Date.parse('2024-05-17T12:30:45.123Z'), 'date round-trip', types.d);
eq(types.l.toString(), '1099511627776', 'long round-trip');
eq(types.dec.toString(), '1.10', 'decimal round-trip keeps its exponent');
eq(types.oid.toHexString(), '64b7f0a0a0a0a0a0a0a0a0a0', 'ObjectId round-trip');

// ---- indexes ----
const ix = t.indexed;
ix.insertMany(Array.from({length: 20}, (_, i) => ({_id: i, a: i % 4, b: i, email: `u${i}@x`, at: new Date()})));
eq(ix.createIndex({email: 1}, {unique: true}), 'email_1', 'unique index');
const dup = fails(() => ix.insertOne({email: 'u3@x'}), 11000, 'duplicate key');
eq(dup.keyPattern, {email: 1}, 'duplicate key keyPattern');
eq(dup.keyValue, {email: 'u3@x'}, 'duplicate key keyValue');
eq(ix.createIndex({a: 1, b: -1}), 'a_1_b_-1', 'compound index');
eq(ix.createIndex({at: 1}, {expireAfterSeconds: 3600}), 'at_1', 'TTL index');
eq(ix.createIndex({b: 1}, {name: 'b_partial', partialFilterExpression: {b: {$gt: 100}}}), 'b_partial', 'partial index');
fails(() => ix.createIndex({a: 1}, {unique: true, name: 'a_unique'}), 11000, 'unique index over duplicates');
fails(() => ix.createIndex({b: 1}, {name: 'email_1'}), 86, 'same name, other key');
const specs = Object.fromEntries(ix.getIndexes().map((s) => [s.name, s]));
eq(Object.keys(specs).sort(), ['_id_', 'a_1_b_-1', 'at_1', 'b_partial', 'email_1'], 'getIndexes names');
eq(specs['a_1_b_-1'].key, {a: 1, b: -1}, 'compound key');
eq(specs.email_1.unique, true, 'unique listed');
eq(specs.at_1.expireAfterSeconds, 3600, 'TTL listed');
eq(specs.b_partial.partialFilterExpression, {b: {$gt: 100}}, 'partial filter listed');
const plan = ix.find({email: 'u5@x'}).explain().queryPlanner.winningPlan;
ok(JSON.stringify(plan).includes('IXSCAN'), 'indexed equality uses the index', plan);
eq(ix.find({a: 1, b: {$lt: 10}}, {_id: 1}).sort({a: 1, b: -1}).toArray(), [{_id: 9}, {_id: 5}, {_id: 1}],
   'compound range in index order');
ix.dropIndex('b_partial');
ok(!ix.getIndexes().some((s) => s.name === 'b_partial'), 'dropIndex');

// ---- catalog ----
t.createCollection('capped', {capped: true, size: 4096, max: 2});
[1, 2, 3].forEach((i) => t.capped.insertOne({_id: i}));
eq(t.capped.find().toArray(), [{_id: 2}, {_id: 3}], 'capped keeps the newest');
t.createCollection('valid', {validator: {n: {$type: 'int'}}, validationAction: 'error'});
fails(() => t.valid.insertOne({n: 'x'}), 121, 'validator');
t.createCollection('ci', {collation: {locale: 'en', strength: 1}});
t.ci.insertMany([{s: 'Éclair'}, {s: 'eclair'}, {s: 'other'}]);
eq(t.ci.countDocuments({s: 'ECLAIR'}), 2, 'collation strength 1 ignores case and accents');
t.createView('bigItems', 'items', [{$match: {n: {$gte: 30}}}, {$project: {name: 1}}]);
eq(t.bigItems.find().sort({_id: 1}).toArray(), [{_id: 3, name: 'p3'}, {_id: 4, name: 'p4'}, {_id: 5, name: 'p5'}],
   'view');
fails(() => t.bigItems.insertOne({x: 1}), 166, 'views are read-only');
const infos = Object.fromEntries(t.getCollectionInfos().map((i) => [i.name, i]));
eq(infos.bigItems.type, 'view', 'view listed');
eq(infos.capped.options.capped, true, 'capped listed');
ok(infos.items.info.uuid !== undefined, 'collection listed with a UUID', infos.items.info);
t.createCollection('before');
t.before.renameCollection('after');
ok(t.getCollectionNames().includes('after') && !t.getCollectionNames().includes('before'), 'renameCollection');
db.adminCommand({renameCollection: 'mongosh_check.after', to: 'mongosh_check_other.moved'});
ok(db.getSiblingDB('mongosh_check_other').getCollectionNames().includes('moved'), 'rename across databases');
const dbs = db.adminCommand({listDatabases: 1}).databases.map((d) => d.name);
ok(dbs.includes('mongosh_check') && dbs.includes('mongosh_check_other'), 'listDatabases', dbs);
ok(t.getSiblingDB('mongosh_check_other').dropDatabase().ok === 1, 'dropDatabase');
ok(t.valid.drop(), 'drop');
ok(!t.getCollectionNames().includes('valid'), 'dropped collection is gone');
const stats = t.runCommand({collStats: 'items'});
eq(stats.count, c.countDocuments({}), 'collStats count');

// ---- aggregation ----
const o = t.orders;
o.insertMany(Array.from({length: 8}, (_, i) => ({_id: i + 1, cust: 'c' + (i % 2), amount: (i + 1) * 5})));
eq(o.aggregate([{$group: {_id: '$cust', total: {$sum: '$amount'}, n: {$sum: 1}}}, {$sort: {_id: 1}}]).toArray(),
   [{_id: 'c0', total: 80, n: 4}, {_id: 'c1', total: 100, n: 4}], '$group/$sort');
eq(o.aggregate([{$match: {amount: {$gt: 10}}}, {$count: 'n'}]).toArray(), [{n: 6}], '$match/$count');
eq(o.aggregate([{$sort: {amount: -1}}, {$limit: 2}, {$project: {_id: 0, twice: {$multiply: ['$amount', 2]}}}]).toArray(),
   [{twice: 80}, {twice: 70}], '$sort/$limit/$project');
o.aggregate([{$match: {cust: 'c1'}}, {$out: 'c1'}]).toArray();
eq(t.c1.countDocuments({}), 4, '$out');
eq(o.aggregate([{$lookup: {from: 'c1', localField: '_id', foreignField: '_id', as: 'm'}},
                {$match: {m: {$size: 1}}}, {$count: 'n'}]).toArray(), [{n: 4}], '$lookup');

// ---- time-series collection and Atlas-only helpers ----
t.createCollection('weather', {timeseries: {timeField: 'ts', metaField: 'station'}});
const info = t.getCollectionInfos({name: 'weather'})[0];
eq(info.type, 'timeseries', 'time-series collection listed');
t.weather.insertMany([0, 1, 2, 3].map((i) => ({ts: new Date(Date.UTC(2024, 0, 1, 0, i)), station: 'a' + (i % 2), v: i})));
eq(t.weather.find({station: 'a1'}, {_id: 0, v: 1}).sort({v: 1}).toArray(), [{v: 1}, {v: 3}], 'find on a time-series collection');
eq(t.getCollection('system.buckets.weather').countDocuments({}), 2, 'one bucket per station');
const searchErr = fails(() => t.weather.getSearchIndexes(), 6047401, '$listSearchIndexes without Atlas');
ok(/Atlas/.test(searchErr.message), 'search error names Atlas', searchErr.message);

t.dropDatabase();
print(`mongosh ${version()}: ${checks} checks passed`);
