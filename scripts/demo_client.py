"""A real client (pymongo) using mongosim: writes, queries, indexes and aggregation."""
import sys

from pymongo import MongoClient, ASCENDING
from pymongo.errors import DuplicateKeyError

client = MongoClient(sys.argv[1], serverSelectionTimeoutMS=10000)
print("server version:", client.server_info()["version"], "| replica set:", client.admin.command("hello").get("setName"))
db = client.demo
db.orders.drop()
db.orders.insert_many([
    {"_id": i, "customer": "c%03d" % (i % 50), "status": ["new", "paid", "shipped"][i % 3],
     "total": round(10 + i * 1.25, 2), "items": [{"sku": "s%d" % (i % 7), "qty": 1 + i % 4}]}
    for i in range(1000)])
print("inserted:", db.orders.count_documents({}))
db.orders.create_index([("customer", ASCENDING), ("status", ASCENDING)], name="customer_status")
db.orders.create_index("email", unique=True, sparse=True)
print("indexes:", sorted(ix["name"] for ix in db.orders.list_indexes()))
res = db.orders.update_many({"status": "new"}, {"$inc": {"total": 1}, "$set": {"flag": True}})
print("updated:", res.modified_count)
print("paid orders of c007:", db.orders.count_documents({"customer": "c007", "status": "paid"}))
top = list(db.orders.aggregate([
    {"$unwind": "$items"},
    {"$group": {"_id": "$items.sku", "qty": {"$sum": "$items.qty"}}},
    {"$sort": {"qty": -1}}, {"$limit": 3}]))
print("top skus:", top)
db.orders.insert_one({"_id": 5000, "email": "a@example.com"})
try:
    db.orders.insert_one({"_id": 5001, "email": "a@example.com"})
except DuplicateKeyError as e:
    print("unique index holds:", e.details["errmsg"])
print("deleted:", db.orders.delete_many({"status": "shipped"}).deleted_count)
print("remaining:", db.orders.estimated_document_count())
