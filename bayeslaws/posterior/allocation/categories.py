"""The allocation's warning categories: draws at the edge of the isoFLOP search or at a kink of
the drift (:class:`SearchEdgeWarning`) and fitted budgets whose runs do not bracket their vertex
(:class:`UnbracketedVertexWarning`); answers far outside the fitted range warn as
:class:`~bayeslaws.posterior.outside.ExtrapolationWarning`."""


class SearchEdgeWarning(UserWarning):
    """A share of the posterior draws of N_opt (or a near-optimal band) sits at the edge of the
    range searched, so an interval's end there is the search range's edge, not the data's."""


class UnbracketedVertexWarning(UserWarning):
    """A fitted budget's runs do not bracket its vertex (more than ``UNBRACKETED_SHARE`` of the
    draws of N_opt lie outside the sizes run at that budget, e.g. its loss rises monotonically
    in N): the vertex, and its interval, come from the curvature and trend pooled over the
    other budgets, not from that budget's own runs (column ``vertex_outside_sampled``)."""
