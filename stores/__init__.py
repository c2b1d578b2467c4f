"""Image-data stores: where an image's bytes live (a local folder, an S3 bucket).

Each driver implements `stores.base.ImageStore` and raises only `stores.errors.StoreError`s. The
package stands alone: it knows nothing of the catalog that records what the bytes belong to.
"""
