"""The alternatives relations resolvers follow."""
from app.alternatives.models import Neighbor, PickupPoint
from app.api.loaders import by_id

LOADERS = {"neighbor": by_id(Neighbor), "pickup_point": by_id(PickupPoint)}
