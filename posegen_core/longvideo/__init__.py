"""Long-video schedule for PoseGen: chunk layout and padding (``plan``) and the cross-fade merge (``merge``)."""
