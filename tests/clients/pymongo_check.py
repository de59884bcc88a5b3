"""A real client against mongosim: pymongo (Debian's python3-pymongo) doing CRUD, indexes,
catalog operations and aggregation, checking every result. Exits non-zero on the first
mismatch, 77 when pymongo is not installed. The server is MONGOSIM_URI (a fresh mongosim
started by run_with_mongosim.sh, or any server given by MONGOSHIFT_TEST_URI)."""
import datetime
import os
import sys

try:
    import pymongo
    from bson.son import SON
    from pymongo import ReturnDocument
    from pymongo.collation import Collation
    from pymongo.errors import BulkWriteError, DuplicateKeyError, OperationFailure, WriteError
except ImportError as e:
    print("SKIPPED: pymongo is not installed for %s (%s); apt-get install python3-pymongo" % (sys.executable, e))
    sys.exit(77)

checks = 0


def check(cond, what, got=None):
    global checks
    checks += 1
    if not cond:
        raise SystemExit("FAIL: %s%s" % (what, "" if got is None else " (got %r)" % (got,)))


def expect_error(fn, code, what, exc=OperationFailure):
    try:
        fn()
    except exc as e:
        check(e.code == code, "%s: error code %s" % (what, code), e.code)
        return e
    raise SystemExit("FAIL: %s: no error raised (expected code %s)" % (what, code))


client = pymongo.MongoClient(os.environ["MONGOSIM_URI"], serverSelectionTimeoutMS=10000)
hello = client.admin.command("ismaster")
check(hello.get("ismaster") is True, "hello reports a writable primary", hello)
check(hello.get("setName") == "rs0", "hello reports replica set rs0", hello.get("setName"))
db_name = "pymongo_check"
client.drop_database(db_name)
client.drop_database(db_name + "_other")
db = client[db_name]


def crud():
    c = db.people
    r = c.insert_one({"_id": 1, "name": "ada", "age": 36, "tags": ["math", "code"]})
    check(r.inserted_id == 1 and r.acknowledged, "insert_one result", r.inserted_id)
    r = c.insert_many([{"_id": i, "name": "p%d" % i, "age": 20 + i, "tags": ["t%d" % (i % 3)]} for i in range(2, 12)])
    check(r.inserted_ids == list(range(2, 12)), "insert_many ids", r.inserted_ids)
    check(c.count_documents({}) == 11, "count_documents", c.count_documents({}))
    check(c.estimated_document_count() == 11, "estimated_document_count")
    got = [d["_id"] for d in c.find({"age": {"$gte": 25}}).sort("age", pymongo.DESCENDING).skip(1).limit(3)]
    check(got == [11, 10, 9], "find with range, sort desc, skip, limit", got)
    doc = c.find_one({"_id": 1}, {"name": 1, "_id": 0})
    check(doc == {"name": "ada"}, "find_one with inclusion projection", doc)
    doc = c.find_one({"_id": 1}, {"tags": {"$slice": 1}})
    check(doc["tags"] == ["math"] and doc["age"] == 36, "$slice projection", doc)
    doc = c.find_one({"tags": "code"}, {"tags.$": 1})
    check(doc == {"_id": 1, "tags": ["code"]}, "positional projection", doc)
    doc = c.find_one({"_id": 1}, {"tags": {"$elemMatch": {"$eq": "code"}}})
    check(doc == {"_id": 1, "tags": ["code"]}, "$elemMatch projection", doc)
    got = sorted(c.distinct("tags", {"_id": {"$lt": 6}}))
    check(got == ["code", "math", "t0", "t1", "t2"], "distinct unwinds arrays", got)
    # A cursor over several batches: 10 documents, batches of 3.
    got = [d["_id"] for d in c.find({"_id": {"$gt": 1}}, batch_size=3).sort("_id", 1)]
    check(got == list(range(2, 12)), "find across getMore batches", got)

    r = c.update_one({"_id": 2}, {"$set": {"name": "bob"}, "$inc": {"age": 1}})
    check((r.matched_count, r.modified_count) == (1, 1), "update_one counts", r.raw_result)
    check(c.find_one({"_id": 2}) == {"_id": 2, "name": "bob", "age": 23, "tags": ["t2"]}, "update_one applied")
    r = c.update_one({"_id": 2}, {"$set": {"name": "bob"}})
    check((r.matched_count, r.modified_count) == (1, 0), "no-op update modifies nothing", r.raw_result)
    r = c.update_many({"age": {"$lt": 25}}, {"$push": {"tags": "young"}})
    check((r.matched_count, r.modified_count) == (3, 3), "update_many counts", r.raw_result)
    r = c.update_one({"_id": 100}, {"$set": {"name": "new"}}, upsert=True)
    check(r.upserted_id == 100 and r.matched_count == 0, "upsert inserts", r.raw_result)
    check(c.find_one({"_id": 100}) == {"_id": 100, "name": "new"}, "upserted document")
    r = c.update_one({"tags": "t1"}, {"$set": {"tags.$[e]": "T1"}}, array_filters=[{"e": "t1"}])
    check(r.modified_count == 1, "arrayFilters update", r.raw_result)
    r = c.update_one({"_id": 3}, [{"$set": {"older": {"$add": ["$age", 10]}}}])
    check(c.find_one({"_id": 3})["older"] == 33, "pipeline update", c.find_one({"_id": 3}))
    r = c.replace_one({"_id": 100}, {"name": "replaced"})
    check(r.modified_count == 1 and c.find_one({"_id": 100}) == {"_id": 100, "name": "replaced"}, "replace_one")
    expect_error(lambda: c.update_one({"_id": 1}, {"$set": {"_id": 5}}), 66, "changing _id is ImmutableField",
                 WriteError)
    expect_error(lambda: c.update_one({"_id": 1}, {"$set": {"a": 1}, "$unset": {"a": 1}}), 40,
                 "conflicting update paths", WriteError)

    doc = c.find_one_and_update({"_id": 1}, {"$inc": {"age": 1}}, return_document=ReturnDocument.AFTER)
    check(doc["age"] == 37, "find_one_and_update returns the new document", doc)
    doc = c.find_one_and_update({"_id": 1}, {"$inc": {"age": 1}}, projection={"age": 1})
    check(doc == {"_id": 1, "age": 37}, "find_one_and_update returns the old document, projected", doc)
    doc = c.find_one_and_delete({"_id": 100})
    check(doc == {"_id": 100, "name": "replaced"}, "find_one_and_delete", doc)
    check(c.find_one_and_delete({"_id": 100}) is None, "find_one_and_delete of nothing")

    r = c.bulk_write([pymongo.InsertOne({"_id": 50}), pymongo.UpdateOne({"_id": 50}, {"$set": {"x": 1}}),
                      pymongo.DeleteOne({"_id": 11}), pymongo.ReplaceOne({"_id": 51}, {"y": 2}, upsert=True)])
    check((r.inserted_count, r.matched_count, r.modified_count, r.deleted_count, r.upserted_count) ==
          (1, 1, 1, 1, 1), "bulk_write counts", r.bulk_api_result)
    try:
        c.insert_many([{"_id": 60}, {"_id": 1}, {"_id": 61}], ordered=False)
        raise SystemExit("FAIL: unordered insert with a duplicate did not raise")
    except BulkWriteError as e:
        res = e.details
        check(res["nInserted"] == 2, "unordered insert continues after the error", res)
        check([w["index"] for w in res["writeErrors"]] == [1] and res["writeErrors"][0]["code"] == 11000,
              "unordered insert reports the duplicate's index", res["writeErrors"])
    r = c.delete_many({"_id": {"$gte": 50}})
    check(r.deleted_count == 4, "delete_many", r.raw_result)
    r = c.delete_one({"_id": 999})
    check(r.deleted_count == 0, "delete_one of nothing", r.raw_result)

    # Types survive the round trip.
    now = datetime.datetime(2024, 5, 17, 12, 30, 45, 123000)
    c.insert_one({"_id": "types", "d": now, "f": 1.5, "l": 2 ** 40, "n": None, "b": b"\x00\x01", "nested": {"a": [1, {"b": 2}]}})
    doc = c.find_one({"_id": "types"})
    check(doc["d"] == now and doc["f"] == 1.5 and doc["l"] == 2 ** 40 and doc["n"] is None and doc["b"] == b"\x00\x01"
          and doc["nested"] == {"a": [1, {"b": 2}]}, "BSON types round-trip", doc)


def indexes():
    c = db.indexed
    c.insert_many([{"_id": i, "a": i % 5, "b": i, "email": "u%d@x" % i, "at": datetime.datetime(2024, 1, 1)} for i in range(20)])
    name = c.create_index([("email", 1)], unique=True)
    check(name == "email_1", "create_index returns the name", name)
    e = expect_error(lambda: c.insert_one({"_id": 100, "email": "u3@x"}), 11000, "unique index duplicate",
                     DuplicateKeyError)
    check(e.details.get("keyPattern") == {"email": 1} and e.details.get("keyValue") == {"email": "u3@x"},
          "duplicate key error carries keyPattern and keyValue", e.details)
    expect_error(lambda: c.create_index([("a", 1)], unique=True), 11000, "unique index over duplicate data")
    check(c.create_index([("a", 1), ("b", -1)]) == "a_1_b_-1", "compound index name")
    check(c.create_index([("at", 1)], expireAfterSeconds=3600) == "at_1", "TTL index")
    check(c.create_index([("b", 1)], unique=True, partialFilterExpression={"b": {"$gt": 100}}, name="b_partial") ==
          "b_partial", "partial unique index")
    c.insert_one({"_id": 200, "b": 5, "email": "dup-ok@x"})  # b: 5 twice, but outside the partial filter
    expect_error(lambda: c.create_index([("a", 1)], name="email_1"), 86, "same name, other key")
    expect_error(lambda: c.create_index([("email", 1)], name="other_name", unique=True), 85,
                 "same key, other name")
    info = c.index_information()
    check(sorted(info) == ["_id_", "a_1_b_-1", "at_1", "b_partial", "email_1"], "index_information names", sorted(info))
    check(info["a_1_b_-1"]["key"] == [("a", 1), ("b", -1)], "compound key order", info["a_1_b_-1"])
    check(info["email_1"].get("unique") is True, "unique flag listed", info["email_1"])
    check(info["at_1"].get("expireAfterSeconds") == 3600, "TTL listed", info["at_1"])
    check(info["b_partial"].get("partialFilterExpression") == {"b": {"$gt": 100}}, "partial filter listed",
          info["b_partial"])
    specs = {s["name"]: s for s in c.list_indexes()}
    check(specs["_id_"]["key"] == {"_id": 1} and specs["_id_"]["v"] == 2, "listIndexes _id_ spec", specs["_id_"])
    # A query on an indexed field uses the index.
    plan = c.find({"email": "u7@x"}).explain()["queryPlanner"]["winningPlan"]
    check("IXSCAN" in str(plan), "equality on an indexed field is an index scan", plan)
    check([d["_id"] for d in c.find({"a": 2, "b": {"$gte": 5}}).sort([("a", 1), ("b", -1)])] == [17, 12, 7],
          "compound range query in index order")
    c.drop_index("b_partial")
    check("b_partial" not in c.index_information(), "drop_index")
    c.drop_indexes()
    check(list(c.index_information()) == ["_id_"], "drop_indexes keeps _id_", list(c.index_information()))


def catalog():
    db.create_collection("capped", capped=True, size=4096, max=3)
    capped = db.capped
    for i in range(5):
        capped.insert_one({"_id": i})
    check([d["_id"] for d in capped.find()] == [2, 3, 4], "capped collection keeps the newest max documents")
    opts = capped.options()
    check(opts.get("capped") is True and opts.get("size") == 4096 and opts.get("max") == 3, "capped options", opts)

    db.create_collection("validated", validator={"$jsonSchema": {"required": ["name"]}}, validationLevel="strict",
                         validationAction="error")
    db.validated.insert_one({"name": "ok"})
    e = expect_error(lambda: db.validated.insert_one({"other": 1}), 121, "validator rejects", WriteError)
    check("errInfo" in e.details, "validation error carries errInfo", e.details)
    db.command("collMod", "validated", validationAction="warn")
    db.validated.insert_one({"other": 2})
    check(db.validated.count_documents({}) == 2, "validationAction warn accepts")

    db.create_collection("ci", collation=Collation(locale="en", strength=2))
    db.ci.insert_many([{"_id": 1, "s": "Apple"}, {"_id": 2, "s": "apple"}, {"_id": 3, "s": "banana"}])
    check(db.ci.count_documents({"s": "APPLE"}) == 2, "collection collation (en, strength 2) on find")
    check(db.people.count_documents({"name": "ADA"}, collation=Collation(locale="en", strength=1)) == 1,
          "operation collation")

    db.command(SON([("create", "adults"), ("viewOn", "people"), ("pipeline", [{"$match": {"age": {"$gte": 30}}}])]))
    got = sorted(d["_id"] for d in db.adults.find())
    check(got == [1, 10], "a view answers through its pipeline", got)
    expect_error(lambda: db.adults.insert_one({"x": 1}), 166, "views are read-only", OperationFailure)
    listed = {c["name"]: c for c in db.list_collections()}
    check(listed["adults"]["type"] == "view" and listed["adults"]["options"]["viewOn"] == "people", "view listed",
          listed["adults"])
    check(listed["people"]["type"] == "collection" and "uuid" in listed["people"]["info"], "collection listed with uuid",
          listed["people"])
    check(listed["capped"]["options"].get("capped") is True, "listCollections options")
    check(sorted(db.list_collection_names(filter={"type": "view"})) == ["adults"], "listCollections filter")

    db.create_collection("to_rename").insert_one({"_id": 1})
    db.to_rename.rename("renamed")
    check("renamed" in db.list_collection_names() and "to_rename" not in db.list_collection_names(),
          "rename within a database")
    client.admin.command("renameCollection", db_name + ".renamed", to=db_name + "_other.moved")
    check(client[db_name + "_other"].moved.find_one() == {"_id": 1}, "rename across databases")
    db.create_collection("exists")
    expect_error(lambda: db.command("create", "exists", capped=True, size=1024), 48,
                 "create of an existing collection with other options")
    db.drop_collection("exists")
    check("exists" not in db.list_collection_names(), "drop_collection")
    names = client.list_database_names()
    check(db_name in names and db_name + "_other" in names, "list_database_names", names)
    dbs = {d["name"]: d for d in client.list_databases()}
    check(dbs[db_name]["sizeOnDisk"] > 0 and dbs[db_name]["empty"] is False, "listDatabases sizes", dbs[db_name])
    client.drop_database(db_name + "_other")
    check(db_name + "_other" not in client.list_database_names(), "drop_database")
    stats = db.command("collStats", "people")
    check(stats["count"] == db.people.count_documents({}) and stats["size"] > 0, "collStats", stats)


def timeseries():
    db.create_collection("weather", timeseries={"timeField": "ts", "metaField": "station", "granularity": "minutes"})
    listed = {c["name"]: c for c in db.list_collections()}
    check(listed["weather"]["type"] == "timeseries" and listed["weather"]["options"]["timeseries"]["metaField"] == "station",
          "time-series collection listed", listed["weather"])
    t0 = datetime.datetime(2024, 1, 1)
    db.weather.insert_many([{"ts": t0 + datetime.timedelta(minutes=i), "station": {"id": i % 2}, "temp": 10 + i}
                            for i in range(6)])
    e = expect_error(lambda: db.weather.insert_one({"temp": 1}), 2, "a measurement needs its time field", WriteError)
    check("'ts' must be present" in str(e), "time field error text", str(e))
    got = [(d["station"]["id"], d["temp"]) for d in db.weather.find({"temp": {"$gte": 13}}).sort("temp", 1)]
    check(got == [(1, 13), (0, 14), (1, 15)], "find on a time-series collection", got)
    check(db.weather.count_documents({"station.id": 0}) == 3, "count_documents by meta field")
    check(db["system.buckets.weather"].count_documents({}) == 2, "one bucket per station",
          db["system.buckets.weather"].count_documents({}))


def aggregation():
    c = db.orders
    c.insert_many([{"_id": i, "cust": "c%d" % (i % 3), "amount": i * 10, "items": ["x", "y"][: 1 + i % 2]} for i in range(1, 10)])
    db.customers.insert_many([{"_id": "c0", "city": "Oslo"}, {"_id": "c1", "city": "Rome"}, {"_id": "c2", "city": "Lima"}])
    got = list(c.aggregate([{"$match": {"amount": {"$gte": 20}}},
                            {"$group": {"_id": "$cust", "total": {"$sum": "$amount"}, "n": {"$sum": 1},
                                        "avg": {"$avg": "$amount"}, "max": {"$max": "$amount"}}},
                            {"$sort": {"total": -1}}]))
    check(got == [{"_id": "c0", "total": 180, "n": 3, "avg": 60.0, "max": 90},
                  {"_id": "c2", "total": 150, "n": 3, "avg": 50.0, "max": 80},
                  {"_id": "c1", "total": 110, "n": 2, "avg": 55.0, "max": 70}], "$match/$group/$sort", got)
    got = list(c.aggregate([{"$unwind": "$items"}, {"$count": "n"}]))
    check(got == [{"n": 14}], "$unwind/$count", got)
    got = list(c.aggregate([{"$match": {"_id": 4}},
                            {"$lookup": {"from": "customers", "localField": "cust", "foreignField": "_id", "as": "c"}},
                            {"$project": {"_id": 0, "city": {"$arrayElemAt": ["$c.city", 0]}, "double": {"$multiply": ["$amount", 2]}}}]))
    check(got == [{"city": "Rome", "double": 80}], "$lookup/$project with expressions", got)
    got = list(c.aggregate([{"$facet": {"small": [{"$match": {"amount": {"$lt": 30}}}, {"$count": "n"}],
                                        "big": [{"$match": {"amount": {"$gte": 30}}}, {"$count": "n"}]}}]))
    check(got == [{"small": [{"n": 2}], "big": [{"n": 7}]}], "$facet", got)
    list(c.aggregate([{"$match": {"cust": "c1"}}, {"$out": "c1_orders"}]))
    check(sorted(d["_id"] for d in db.c1_orders.find()) == [1, 4, 7], "$out writes a collection")
    list(c.aggregate([{"$match": {"_id": 1}}, {"$set": {"merged": True}},
                      {"$merge": {"into": "c1_orders", "whenMatched": "merge", "whenNotMatched": "fail"}}]))
    check(db.c1_orders.find_one({"_id": 1}).get("merged") is True, "$merge into an existing document")
    got = list(c.aggregate([{"$sort": {"_id": 1}}, {"$skip": 2}, {"$limit": 2}, {"$replaceRoot": {"newRoot": {"k": "$_id"}}}]))
    check(got == [{"k": 3}, {"k": 4}], "$sort/$skip/$limit/$replaceRoot", got)
    many = list(c.aggregate([{"$match": {}}], batchSize=2))
    check(len(many) == 9, "aggregate cursor across batches", len(many))


for step in (crud, indexes, catalog, timeseries, aggregation):
    step()
client.drop_database(db_name)
print("pymongo %s: %d checks passed" % (pymongo.version, checks))
