from enum import StrEnum


class RingOrder(StrEnum):
    IN_ORDER = "in_order"
    LONGEST_IDLE = "longest_idle"
    ROUND_ROBIN = "round_robin"

    def __str__(self) -> str:
        return str(self.value)
