"""Standards alignment: the CCSS, NGSS or state standards a tool is mapped to."""
