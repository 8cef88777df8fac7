{ also = broken
